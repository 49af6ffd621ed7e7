/**
 * `npm run clients -- <command>` (in the image: `node dist/src/cli/clients.js <command>`): API clients, their keys
 * and settings (issue 11, SPEC §4). A thin layer over ClientsService, against DATABASE_URL or, when unset, the
 * embedded database in DATA_DIR — the running service's server if there is one (left running), else one started
 * for the command and stopped after it. Migrations are applied first, as the service does.
 *
 * Output: one JSON document on stdout per command (`create`/`rotate` print the secrets, the only time they are
 * ever shown); diagnostics on stderr. Exit code 1 on any refusal (unknown client or key, bad argument).
 */
import 'reflect-metadata';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { ClientsService, KeyAlgorithm } from '../auth/clients/clients.service.js';
import { errorText } from '../common/errors/error-text.js';
import { ConfigError, decodeSecretsKey, parseEnvironment } from '../config/environment.js';

/** The signature algorithms of `--alg` (ClientsService validates them again). */
const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['hmac-sha256', 'ed25519'];

const print = (value: unknown, pretty = false) => process.stdout.write(JSON.stringify(value, null, pretty ? 2 : undefined) + '\n');
const note = (line: string) => process.stderr.write(line + '\n');

/** The settings the CLI needs, validated like the service's (production: CLIENT_SECRETS_KEY required). */
async function settings() {
  const source = process.env;
  // Only the variables the CLI reads: an operator need not pass OPENAI_API_KEY or SHARED_KEY to manage clients.
  const env = parseEnvironment({
    DATABASE_URL: source.DATABASE_URL,
    DATA_DIR: source.DATA_DIR,
    CLIENT_SECRETS_KEY: source.CLIENT_SECRETS_KEY,
    CLIENT_SECRETS_KEY_PREVIOUS: source.CLIENT_SECRETS_KEY_PREVIOUS,
  });
  const production = source.NODE_ENV === 'production';
  if (production && !env.CLIENT_SECRETS_KEY) throw new ConfigError(['CLIENT_SECRETS_KEY is required when NODE_ENV=production']);
  if (production && !env.DATABASE_URL) throw new ConfigError(['DATABASE_URL is required when NODE_ENV=production']);
  const dataDir = resolve(env.DATA_DIR);
  const { developmentClientSecretsKey } = await import('../bootstrap/runtime.js');
  const { SecretBox } = await import('../auth/clients/secret-box.js');
  const key = env.CLIENT_SECRETS_KEY ? decodeSecretsKey(env.CLIENT_SECRETS_KEY)! : (await developmentClientSecretsKey(dataDir)).key;
  const previous = env.CLIENT_SECRETS_KEY_PREVIOUS ? decodeSecretsKey(env.CLIENT_SECRETS_KEY_PREVIOUS) : undefined;
  return { databaseUrl: env.DATABASE_URL, dataDir, box: new SecretBox(key, previous) };
}

/** Opens the database (migrated), runs `work` with a ClientsService over it, and closes everything again. */
async function withClients<T>(work: (clients: ClientsService) => Promise<T>): Promise<T> {
  const { databaseUrl, dataDir, box } = await settings();
  // Loaded only for a command that runs: usage errors and --help answer at once.
  const [{ DataSource }, { ClientsService }, { SystemClock }, runtime, database, embedded] = await Promise.all([
    import('typeorm'),
    import('../auth/clients/clients.service.js'),
    import('../common/clock.js'),
    import('../bootstrap/runtime.js'),
    import('../database/data-source.js'),
    import('../database/embedded-postgres.js'),
  ]);
  let url = databaseUrl;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!url) {
    const server = await embedded.connectOrStartEmbeddedPostgres({ dataDir: join(dataDir, 'postgres'), persistent: true });
    stopEmbedded = () => server.stop();
    if (server.started) note(`started the embedded PostgreSQL of ${dataDir} for this command`);
    url = await runtime.ensureDatabase(server.url, runtime.EMBEDDED_DATABASE_NAME);
  }
  try {
    await database.runMigrations(url, (line) => note(line));
    const dataSource = new DataSource({ ...database.dataSourceOptions(url, 'generation-service:clients-cli'), extra: { max: 2 } });
    await dataSource.initialize();
    try {
      const clock = new SystemClock();
      const service = ClientsService.overDataSource(dataSource, { secretBox: box, cacheMs: 0 }, clock);
      return await work(service);
    } finally {
      await dataSource.destroy();
    }
  } finally {
    await stopEmbedded?.();
  }
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < 1) throw new InvalidArgumentError('a whole number, 1 or more');
  return parsed;
}

function seconds(value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < 0) throw new InvalidArgumentError('a number of seconds, 0 or more');
  return parsed;
}

/** Standard or URL-safe base64, padding optional; refuses anything Buffer.from would silently skip. */
function base64Key(value: string): Buffer {
  const text = value.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) throw new InvalidArgumentError('base64 of the raw 32-byte public key');
  return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

const algorithmOption = () =>
  new Option('--alg <algorithm>', `signature algorithm of the key (${KEY_ALGORITHMS.join(', ')})`).argParser((value) => {
    if (!(KEY_ALGORITHMS as readonly string[]).includes(value)) throw new InvalidArgumentError(`one of ${KEY_ALGORITHMS.join(', ')}`);
    return value as KeyAlgorithm;
  });
const publicKeyOption = () =>
  new Option('--public-key <base64>', 'raw 32-byte Ed25519 public key, base64 (with --alg ed25519)').argParser(base64Key);

const program = new Command('clients')
  .description('API clients of the Generation Service: keys (RFC 9421), webhook secrets, rate limits, the seed scheme')
  .showHelpAfterError();

program
  .command('create')
  .description('register a client with its first key; prints {"client_id","key_id","secret","webhook_secret"} once')
  .argument('<name>', 'a name for people (the client id is generated)')
  .addOption(algorithmOption())
  .addOption(publicKeyOption())
  .action(async (name: string, options: { alg?: KeyAlgorithm; publicKey?: Buffer }) => {
    print(await withClients((clients) => clients.create(name, { algorithm: options.alg, publicKey: options.publicKey })));
  });

program
  .command('list')
  .description('every client with its keys and settings (never a secret)')
  .action(async () => {
    print(await withClients((clients) => clients.list()), true);
  });

program
  .command('rotate')
  .description('a new key for the client; the current keys keep working until revoked, or for --overlap seconds')
  .argument('<client>', 'client id')
  .option('--overlap <seconds>', 'seconds the current keys keep working', seconds)
  .addOption(algorithmOption())
  .addOption(publicKeyOption())
  .action(async (clientId: string, options: { overlap?: number; alg?: KeyAlgorithm; publicKey?: Buffer }) => {
    print(
      await withClients((clients) =>
        clients.rotate(clientId, { overlapSeconds: options.overlap, algorithm: options.alg, publicKey: options.publicKey }),
      ),
    );
  });

program
  .command('revoke')
  .description('end a key at once (every replica within AUTH_KEY_CACHE_MS)')
  .argument('<key_id>', 'key id')
  .action(async (keyId: string) => {
    print(await withClients((clients) => clients.revoke(keyId)));
  });

program
  .command('limits')
  .description('per-client rate limits (requests per RATE_LIMIT_WINDOW_SECONDS); unset scopes use the defaults')
  .argument('<client>', 'client id')
  .option('--sync <n>', 'synchronous requests', positiveInteger)
  .option('--batch <n>', 'batch creations', positiveInteger)
  .option('--polling <n>', 'status, results and list requests', positiveInteger)
  .option('--reset', 'drop every override first')
  .action(async (clientId: string, options: { sync?: number; batch?: number; polling?: number; reset?: boolean }) => {
    const given = Object.fromEntries(
      (['sync', 'batch', 'polling'] as const).filter((scope) => options[scope] !== undefined).map((scope) => [scope, options[scope]]),
    );
    const limits = await withClients(async (clients) => {
      if (options.reset) await clients.setLimits(clientId, null);
      return clients.setLimits(clientId, given);
    });
    print({ client_id: clientId, rate_limits: limits });
  });

program
  .command('legacy')
  .description("allow (on) or refuse (off) the seed's X-Signature scheme for the client")
  .argument('<client>', 'client id')
  .argument('<state>', 'on or off', (value: string) => {
    if (value !== 'on' && value !== 'off') throw new InvalidArgumentError('on or off');
    return value;
  })
  .action(async (clientId: string, state: string) => {
    await withClients((clients) => clients.setLegacy(clientId, state === 'on'));
    print({ client_id: clientId, legacy_scheme: state === 'on' });
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // By name: the service's module is loaded only when a command runs.
  if (error instanceof Error && error.name === 'ClientsError' && 'code' in error) note(`error (${String(error.code)}): ${error.message}`);
  else if (error instanceof ConfigError) note(error.message);
  else note(`error: ${errorText(error)}`);
  process.exitCode = 1;
}
