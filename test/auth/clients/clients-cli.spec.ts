import { execFile, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { jest } from '@jest/globals';
import pg from 'pg';
import { SecretBox } from '../../../src/auth/clients/secret-box.js';
import { startEmbeddedPostgres } from '../../../src/database/embedded-postgres.js';
import { TEST_CLIENT_SECRETS_KEY } from '../../support/app.js';
import { createTestDatabase, type TestDatabase } from '../../support/database.js';

/**
 * `npm run clients` as operators run it: the built CLI (`dist/src/cli/clients.js`, built by `npm test`'s pretest)
 * as a child process against a test database; then the proof that a dump of that database signs nothing.
 */
// Each command is a fresh Node process (and PostgreSQL start-up for the embedded case): slow on a loaded machine.
jest.setTimeout(180_000);

const CLI = new URL('../../../dist/src/cli/clients.js', import.meta.url).pathname;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string | undefined>): Promise<Run> {
  const base = { ...process.env };
  for (const key of ['DATABASE_URL', 'NODE_ENV', 'NODE_OPTIONS', 'CLIENT_SECRETS_KEY', 'CLIENT_SECRETS_KEY_PREVIOUS', 'DATA_DIR'])
    delete base[key];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let db: TestDatabase;
let dataDir: string;
const cli = (...args: string[]) => runCli(args, { DATABASE_URL: db.url, CLIENT_SECRETS_KEY: TEST_CLIENT_SECRETS_KEY, DATA_DIR: dataDir });

/** The one JSON line a command prints (fails when there is anything else on stdout). */
function onlyLine(run: Run): Record<string, any> {
  expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
  const lines = run.stdout.split('\n').filter((line) => line !== '');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]) as Record<string, any>;
}

const rawEd25519 = () => generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(12);

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'gs-clients-cli-'));
  expect(existsSync(CLI)).toBe(true);
});

afterAll(async () => {
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('npm run clients', () => {
  let hmac: Record<string, any>;
  let ed: Record<string, any>;
  let rotated: Record<string, any>;

  test('create prints exactly one JSON line: client_id, key_id, a base64 secret of ≥ 32 bytes, a whsec_ webhook secret', async () => {
    hmac = onlyLine(await cli('create', 'Acme Motors'));
    expect(Object.keys(hmac).sort()).toEqual(['client_id', 'key_id', 'secret', 'webhook_secret']);
    expect(hmac.secret).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(hmac.secret as string, 'base64').length).toBeGreaterThanOrEqual(32);
    expect(hmac.webhook_secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const [row] = await db.query(
      'SELECT c.name, k.algorithm FROM api_clients c JOIN api_client_keys k ON k.client_id = c.id WHERE k.key_id = $1',
      [hmac.key_id],
    );
    expect(row).toEqual({ name: 'Acme Motors', algorithm: 'hmac-sha256' });
  });

  test('create --alg ed25519 --public-key stores the public key and prints no request secret', async () => {
    const publicKey = rawEd25519();
    ed = onlyLine(await cli('create', 'Ed Garage', '--alg', 'ed25519', '--public-key', publicKey.toString('base64')));
    expect(Object.keys(ed).sort()).toEqual(['client_id', 'key_id', 'webhook_secret']);
    const [row] = await db.query<{ public_key: Buffer; secret_ciphertext: Buffer | null }>(
      'SELECT public_key, secret_ciphertext FROM api_client_keys WHERE key_id = $1',
      [ed.key_id],
    );
    expect(row.public_key.equals(publicKey)).toBe(true);
    expect(row.secret_ciphertext).toBeNull();
  });

  test('rotate --overlap, revoke, limits, legacy', async () => {
    rotated = onlyLine(await cli('rotate', hmac.client_id as string, '--overlap', '3600'));
    expect(rotated.client_id).toBe(hmac.client_id);
    expect(rotated.key_id).not.toBe(hmac.key_id);
    const [old] = await db.query<{ expires_at: Date }>('SELECT expires_at FROM api_client_keys WHERE key_id = $1', [hmac.key_id]);
    expect(Math.abs(old.expires_at.getTime() - (Date.now() + 3_600_000))).toBeLessThan(60_000);

    expect(onlyLine(await cli('revoke', hmac.key_id as string))).toMatchObject({ key_id: hmac.key_id, client_id: hmac.client_id });
    expect(onlyLine(await cli('limits', hmac.client_id as string, '--sync', '5', '--polling', '90'))).toEqual({
      client_id: hmac.client_id,
      rate_limits: { sync: 5, polling: 90 },
    });
    expect(onlyLine(await cli('limits', hmac.client_id as string, '--reset', '--batch', '2')).rate_limits).toEqual({ batch: 2 });
    expect(onlyLine(await cli('legacy', hmac.client_id as string, 'on'))).toEqual({ client_id: hmac.client_id, legacy_scheme: true });
    const [client] = await db.query('SELECT legacy_scheme, rate_limits FROM api_clients WHERE id = $1', [hmac.client_id]);
    expect(client).toEqual({ legacy_scheme: true, rate_limits: { batch: 2 } });
    expect(onlyLine(await cli('legacy', hmac.client_id as string, 'off')).legacy_scheme).toBe(false);
  });

  test('list shows clients, keys and their state, and no secret', async () => {
    const run = await cli('list');
    expect(run.code).toBe(0);
    const listed = JSON.parse(run.stdout) as { client_id: string; keys: { key_id: string; status: string }[] }[];
    expect(listed.map((client) => client.client_id)).toEqual(['default', hmac.client_id, ed.client_id]);
    expect(listed[1].keys.map((key) => [key.key_id, key.status])).toEqual([
      [rotated.key_id, 'active'],
      [hmac.key_id, 'revoked'],
    ]);
    for (const secret of [hmac.secret, rotated.secret, hmac.webhook_secret, ed.webhook_secret, rotated.webhook_secret] as string[]) {
      expect(run.stdout).not.toContain(secret);
    }
    expect(run.stdout).not.toMatch(/secret|ciphertext/);
  });

  test('refusals are exit code 1 with a clear message: unknown client or key, bad arguments, production without a key', async () => {
    const unknownClient = await cli('rotate', 'cl_nope');
    expect(unknownClient).toMatchObject({ code: 1, stdout: '' });
    expect(unknownClient.stderr).toContain('error (CLIENT_NOT_FOUND): no client "cl_nope"');
    expect((await cli('revoke', 'key_nope')).stderr).toContain('KEY_NOT_FOUND');
    const badKey = await cli('create', 'x', '--alg', 'ed25519', '--public-key', Buffer.alloc(32, 0xff).toString('base64'));
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toContain('not an Ed25519 public key');
    expect((await cli('limits', hmac.client_id as string, '--sync', '0')).code).toBe(1);
    expect((await cli('legacy', hmac.client_id as string, 'maybe')).code).toBe(1);
    expect((await cli('create', 'x', '--alg', 'rsa')).code).toBe(1);

    const production = await runCli(['list'], { NODE_ENV: 'production', DATABASE_URL: db.url, DATA_DIR: dataDir });
    expect(production.code).toBe(1);
    expect(production.stderr).toContain('CLIENT_SECRETS_KEY is required when NODE_ENV=production');
    const wrongKey = await runCli(['list'], { DATABASE_URL: db.url, DATA_DIR: dataDir, CLIENT_SECRETS_KEY: 'short' });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain('CLIENT_SECRETS_KEY must be the base64 of 32 random bytes');
    expect(wrongKey.stderr).not.toContain('short');
  });

  test('a dump of the database holds no usable secret: neither request nor webhook secrets, in any encoding', async () => {
    const fresh = onlyLine(await cli('create', 'Dumped'));
    const issued = [hmac, rotated, fresh];
    const dumps = await dumpDatabase(db.url);
    expect(dumps.length).toBeGreaterThanOrEqual(2);

    const requestSecrets = issued.map((key) => Buffer.from(key.secret as string, 'base64'));
    const webhookSecrets = [...issued, ed].map((key) => Buffer.from((key.webhook_secret as string).slice('whsec_'.length), 'base64'));
    const forbidden = [...requestSecrets, ...webhookSecrets].flatMap((bytes) => [
      bytes.toString('base64'),
      bytes.toString('base64').replace(/=+$/, ''),
      bytes.toString('base64url'),
      bytes.toString('hex'),
      bytes.toString('hex').toUpperCase(),
      escapeBytea(bytes),
    ]);
    forbidden.push(...[...issued, ed].map((key) => key.webhook_secret as string));
    for (const dump of dumps) {
      for (const text of forbidden) expect(dump.text.includes(text)).toBe(false);
      for (const bytes of [...requestSecrets, ...webhookSecrets]) expect(Buffer.from(dump.text, 'latin1').includes(bytes)).toBe(false);
    }

    // The dump does hold the encrypted secrets: with CLIENT_SECRETS_KEY (not in the dump) they decrypt.
    const hexDump = dumps.find((dump) => dump.form === 'hex')!;
    const box = new SecretBox(Buffer.from(TEST_CLIENT_SECRETS_KEY, 'base64'));
    const [row] = await db.query<{ secret_ciphertext: Buffer }>('SELECT secret_ciphertext FROM api_client_keys WHERE key_id = $1', [
      fresh.key_id,
    ]);
    expect(hexDump.text).toContain(row.secret_ciphertext.toString('hex'));
    expect(box.decrypt(row.secret_ciphertext, `${fresh.key_id as string}:request`).equals(requestSecrets[2])).toBe(true);
    expect(() => new SecretBox(randomBytes(32)).decrypt(row.secret_ciphertext, `${fresh.key_id as string}:request`)).toThrow();
  });
});

describe('npm run clients without DATABASE_URL: the embedded database in DATA_DIR', () => {
  test("uses the service's running server without stopping it; starts (and stops) one when none runs", async () => {
    const folder = await mkdtemp(join(tmpdir(), 'gs-clients-embedded-'));
    await chmod(folder, 0o755); // as root, PostgreSQL runs as `postgres`, which must enter it
    const env = { DATA_DIR: folder, CLIENT_SECRETS_KEY: TEST_CLIENT_SECRETS_KEY };
    // The running service's server, as runtime.ts starts it.
    const running = await startEmbeddedPostgres({ dataDir: join(folder, 'postgres'), persistent: true });
    try {
      const created = onlyLine(await runCli(['create', 'Embedded'], env));
      const admin = new pg.Client({ connectionString: running.url.replace(/\/postgres$/, '/generation_service') });
      await admin.connect();
      try {
        // Still running: the same connection string answers, and the client is there.
        const rows = await admin.query('SELECT name FROM api_clients WHERE id = $1', [created.client_id]);
        expect(rows.rows).toEqual([{ name: 'Embedded' }]);
      } finally {
        await admin.end();
      }
      await running.stop();

      const listed = await runCli(['list'], env);
      expect(listed.code).toBe(0);
      expect(listed.stderr).toContain('started the embedded PostgreSQL');
      expect((JSON.parse(listed.stdout) as { client_id: string }[]).map((client) => client.client_id)).toContain(created.client_id);
      // ... and stopped it again: nothing listens on that cluster any more.
      expect(existsSync(join(folder, 'postgres', 'cluster', 'postmaster.pid'))).toBe(false);
    } finally {
      await running.stop();
      await rm(folder, { recursive: true, force: true });
    }
  });

  test('in development without CLIENT_SECRETS_KEY the key is generated once into DATA_DIR (0600) and reused', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'gs-clients-devkey-'));
    try {
      const first = onlyLine(await runCli(['create', 'Dev'], { DATABASE_URL: db.url, DATA_DIR: folder }));
      const { stat, readFile } = await import('node:fs/promises');
      const file = join(folder, 'client-secrets.key');
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const key = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
      expect(key).toHaveLength(32);
      const [row] = await db.query<{ secret_ciphertext: Buffer }>('SELECT secret_ciphertext FROM api_client_keys WHERE key_id = $1', [
        first.key_id,
      ]);
      expect(new SecretBox(key).decrypt(row.secret_ciphertext, `${first.key_id as string}:request`).toString('base64')).toBe(first.secret);
      onlyLine(await runCli(['rotate', first.client_id as string], { DATABASE_URL: db.url, DATA_DIR: folder }));
      expect(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64').equals(key)).toBe(true);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

/** bytea's `escape` output of these bytes (printable ASCII as is, backslash doubled, the rest as \ooo). */
function escapeBytea(bytes: Buffer): string {
  return [...bytes]
    .map((byte) =>
      byte === 0x5c ? '\\\\' : byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '\\' + byte.toString(8).padStart(3, '0'),
    )
    .join('');
}

/**
 * The database as a dump shows it: `pg_dump` of the embedded-postgres package when it ships one (next to
 * `postgres`), and in any case every table's rows via COPY, with bytea in both output forms (hex and escape).
 */
async function dumpDatabase(url: string): Promise<{ form: string; text: string }[]> {
  const dumps: { form: string; text: string }[] = [];
  const { postgres } = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { postgres: string };
  const pgDump = join(dirname(postgres), 'pg_dump');
  if (existsSync(pgDump)) {
    const { stdout } = await promisify(execFile)(pgDump, ['--dbname', url], { maxBuffer: 256 * 1024 * 1024 });
    dumps.push({ form: 'pg_dump', text: stdout });
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ name: string }>(`SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public'`);
    expect(tables.rows.map((table) => table.name)).toEqual(expect.arrayContaining(['api_clients', 'api_client_keys', 'signature_nonces']));
    for (const form of ['hex', 'escape']) {
      await client.query(`SET bytea_output = '${form}'`);
      let text = '';
      for (const { name } of tables.rows) {
        // Row text as COPY writes it (the rows of a data-only dump).
        const rows = await client.query<{ line: string }>(`SELECT t::text AS line FROM ${name} t`);
        text += `-- ${name}\n` + rows.rows.map((row) => row.line).join('\n') + '\n';
      }
      dumps.push({ form, text });
    }
  } finally {
    await client.end();
  }
  return dumps;
}
