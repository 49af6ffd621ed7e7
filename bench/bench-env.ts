import { chmod, mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication, Type } from '@nestjs/common';
import type { Express } from 'express';
import pg from 'pg';
import { createApp } from '../src/bootstrap/create-app.js';
import { AppConfig } from '../src/config/app-config.js';
import { parseEnvironment } from '../src/config/environment.js';
import { runMigrations } from '../src/database/data-source.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/database/embedded-postgres.js';
import { startEmulator, type RunningEmulator } from '../src/emulator/emulator.js';
import { HealthController } from '../src/health/health.controller.js';
import { startImageServer } from './image-server.js';

export const BENCH_SHARED_KEY = 'bench-shared-key-that-is-at-least-32-characters-long';
/** The master key of client secrets at rest (production requires one). */
const BENCH_CLIENT_SECRETS_KEY = Buffer.alloc(32, 'bench-client-secrets/').toString('base64');

/**
 * A route of the bench's apps only: what `/health/live` answers (its controller's own method), behind the same
 * `app.use` middleware (request logging, hygiene, compression, body) but outside Nest's router — no guard,
 * interceptor, filter or pipe. `/health/live` against it is the cost of Nest's per-request machinery. Under
 * `/health/` so that the middleware treats both alike (no compression, quiet access log).
 */
export const BARE_ROUTE = '/health/bench-bare';

export interface RunningApp {
  app: INestApplication;
  url: string;
  close(): Promise<void>;
}

export interface StartAppOptions {
  /** Mounted beside the role's own (e.g. the pipeline's services in an API process, without its tick). */
  extraModules?: Type[];
  /** Another OpenAI (emulator) than `env.emulator`, e.g. one in a thread of its own. */
  openaiBaseUrl?: string;
}

/** Everything the benchmark runs against, embedded in this process. */
export interface BenchEnv {
  databaseUrl: string;
  sql: pg.Pool;
  emulator: RunningEmulator;
  /** Base URL of a loopback server answering every GET with a small PNG. */
  imageBase: string;
  startApp(role: 'api' | 'worker' | 'all', options?: StartAppOptions): Promise<RunningApp>;
  close(): Promise<void>;
}

/** Own embedded PostgreSQL in a temporary folder, migrated; the emulator with instant batches; an image server. */
export async function startBenchEnv(): Promise<BenchEnv> {
  const dataDir = await mkdtemp(join(tmpdir(), 'gs-bench-'));
  await chmod(dataDir, 0o755); // PostgreSQL runs as its own user when we are root
  const postgres: EmbeddedDatabase = await startEmbeddedPostgres({ dataDir, persistent: false });
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  await admin.query('CREATE DATABASE bench');
  await admin.end();
  const url = new URL(postgres.url);
  url.pathname = '/bench';
  const databaseUrl = url.toString();
  await runMigrations(databaseUrl);
  const sql = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  sql.on('error', () => undefined); // idle clients see the server stop at the very end
  const emulator = await startEmulator({ port: 0, batchDurationMs: 0 });
  const images = await startImageServer();
  const apps = new Set<RunningApp>();

  const startApp = async (role: 'api' | 'worker' | 'all', options: StartAppOptions = {}): Promise<RunningApp> => {
    const openaiBaseUrl = options.openaiBaseUrl ?? emulator.url;
    const env = parseEnvironment({
      NODE_ENV: 'production',
      APP_ROLE: role,
      DATABASE_URL: databaseUrl,
      SHARED_KEY: BENCH_SHARED_KEY,
      CLIENT_SECRETS_KEY: BENCH_CLIENT_SECRETS_KEY,
      OPENAI_API_KEY: 'sk-bench',
      OPENAI_BASE_URL: openaiBaseUrl,
      ALLOW_PRIVATE_NETWORKS: 'true', // the images are served from loopback
      WORKER_POLL_INTERVAL: '0.2',
      LOG_LEVEL: 'ERROR',
      RUN_MIGRATIONS: 'false',
      // The benchmark measures throughput, not the per-client budgets.
      RATE_LIMIT_SYNC: '100000000',
      RATE_LIMIT_BATCH: '100000000',
      RATE_LIMIT_POLLING: '100000000',
    });
    const config = new AppConfig(env, {
      databaseUrl,
      embeddedDatabase: false,
      openaiApiKey: 'sk-bench',
      openaiBaseUrl,
      offline: false,
      sharedKey: BENCH_SHARED_KEY,
      sharedKeyGenerated: false,
    });
    const app = await createApp(config, { logger: false, extraModules: options.extraModules });
    // Registered before listen: after the app.use middleware, before the routes Nest mounts on init.
    const health = app.get(HealthController);
    const express = app.getHttpAdapter().getInstance() as Express;
    express.get(BARE_ROUTE, (_request, response) => {
      response.status(200).json(health.live());
    });
    await app.listen(0, '127.0.0.1');
    const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
    const running: RunningApp = {
      app,
      url: `http://127.0.0.1:${port}`,
      async close() {
        apps.delete(running);
        await app.close();
      },
    };
    apps.add(running);
    return running;
  };

  return {
    databaseUrl,
    sql,
    emulator,
    imageBase: images.base,
    startApp,
    async close() {
      for (const app of [...apps]) await app.close().catch(() => undefined);
      await sql.end();
      await emulator.close();
      await images.close();
      await postgres.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
