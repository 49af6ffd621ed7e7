import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { LoggerService } from '@nestjs/common';
import pg from 'pg';
import { AppConfig } from '../config/app-config.js';
import { decodeSecretsKey, type Environment } from '../config/environment.js';
import { startEmbeddedPostgres } from '../database/embedded-postgres.js';

export const EMBEDDED_DATABASE_NAME = 'generation_service';
export const OFFLINE_API_KEY = 'sk-offline-emulator';

export interface Runtime {
  config: AppConfig;
  /** Stops what start-up started (emulator, embedded PostgreSQL), in reverse order. */
  shutdown(): Promise<void>;
}

/** In development a missing SHARED_KEY is generated once and kept in the data folder. */
async function developmentSharedKey(dataDir: string): Promise<string> {
  const file = join(dataDir, 'shared-key');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const key = randomBytes(32).toString('base64url');
  await writeFile(file, key + '\n', { mode: 0o600 });
  return key;
}

/**
 * In development a missing CLIENT_SECRETS_KEY is generated once and kept in the data folder (0600), beside the
 * embedded database it protects; the clients CLI reads the same file. Production requires the variable.
 */
export async function developmentClientSecretsKey(dataDir: string): Promise<{ key: Buffer; created: boolean }> {
  const file = join(dataDir, 'client-secrets.key');
  if (existsSync(file)) {
    const key = decodeSecretsKey(await readFile(file, 'utf8'));
    if (!key) throw new Error(`${file} does not hold the base64 of 32 bytes; restore it, or set CLIENT_SECRETS_KEY`);
    return { key, created: false };
  }
  const key = randomBytes(32);
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  return { key, created: true };
}

/** The database of the service on an embedded server, created when missing; its connection string. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Resolves everything the environment leaves open: starts an embedded
 * PostgreSQL when DATABASE_URL is unset and the OpenAI emulator when
 * OPENAI_API_KEY is unset (offline mode), and generates a development key.
 */
export async function resolveRuntime(env: Environment, logger: LoggerService): Promise<Runtime> {
  const stops: (() => Promise<void>)[] = [];
  const shutdown = async () => {
    for (const stop of stops.reverse())
      await stop().catch((error: unknown) => {
        logger.error(String(error));
      });
    stops.length = 0;
  };
  try {
    const dataDir = resolve(env.DATA_DIR);
    await mkdir(dataDir, { recursive: true });

    let sharedKey = env.SHARED_KEY;
    const sharedKeyGenerated = !sharedKey;
    if (!sharedKey) sharedKey = await developmentSharedKey(dataDir);

    let clientSecretsKey = env.CLIENT_SECRETS_KEY ? decodeSecretsKey(env.CLIENT_SECRETS_KEY) : undefined;
    let clientSecretsKeyGenerated = false;
    if (!clientSecretsKey) {
      const developmentKey = await developmentClientSecretsKey(dataDir);
      clientSecretsKey = developmentKey.key;
      clientSecretsKeyGenerated = true;
      logger.log(
        `CLIENT_SECRETS_KEY is unset: client secrets are encrypted with the development key ${developmentKey.created ? 'generated into' : 'kept in'} ${join(dataDir, 'client-secrets.key')}`,
        'Bootstrap',
      );
    }

    let databaseUrl = env.DATABASE_URL;
    if (!databaseUrl) {
      const embedded = await startEmbeddedPostgres({ dataDir: join(dataDir, 'postgres'), persistent: true });
      stops.push(() => embedded.stop());
      databaseUrl = await ensureDatabase(embedded.url, EMBEDDED_DATABASE_NAME);
      logger.log(`embedded PostgreSQL on 127.0.0.1:${embedded.port}, data in ${join(dataDir, 'postgres')}`, 'Bootstrap');
    }

    let openaiApiKey = env.OPENAI_API_KEY;
    let openaiBaseUrl = env.OPENAI_BASE_URL;
    const offline = !openaiApiKey;
    if (offline) {
      const { startEmulator } = await import('../emulator/emulator.js');
      // The emulator's image downloads follow the same address policy as the service's own image checks.
      const imageNetwork = { allowPrivateNetworks: env.ALLOW_PRIVATE_NETWORKS ?? true, allowLoopback: true };
      const emulator = await startEmulator({
        port: 0,
        batchDurationMs: env.EMULATOR_BATCH_DURATION_MS,
        apiKey: OFFLINE_API_KEY,
        imageNetwork,
        // Its access lines go through the service's logger, at DEBUG (one per emulated OpenAI call).
        log: (line) => void logger.debug?.(line, 'Emulator'),
      });
      stops.push(() => emulator.close());
      openaiApiKey = OFFLINE_API_KEY;
      openaiBaseUrl = emulator.url;
      const bar = '!'.repeat(78);
      logger.warn(
        `\n${bar}\n!! OFFLINE MODE: OPENAI_API_KEY is unset. Descriptions come from the built-in OpenAI\n` +
          `!! emulator at ${emulator.url} — they are synthetic, not real analysis.\n` +
          `!! Set OPENAI_API_KEY to use OpenAI.\n${bar}`,
        'Bootstrap',
      );
    }

    const config = new AppConfig(env, {
      databaseUrl,
      embeddedDatabase: !env.DATABASE_URL,
      openaiApiKey: openaiApiKey!,
      openaiBaseUrl,
      offline,
      sharedKey,
      sharedKeyGenerated,
      clientSecretsKey,
      clientSecretsKeyGenerated,
    });
    return { config, shutdown };
  } catch (error) {
    await shutdown();
    throw error;
  }
}
