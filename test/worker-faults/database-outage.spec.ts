import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runMigrations } from '../../src/database/data-source.js';
import { DatabaseOutageMonitor, isConnectionError } from '../../src/database/database-outage.js';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/database/embedded-postgres.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import type { LoopbackServer } from '../common/loopback-server.js';
import { startImageHost } from '../pipeline/pipeline-support.js';
import { withDatabase } from '../support/database.js';
import { waitFor } from '../support/wait.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

/**
 * Issue 9 #5: a database outage must not flood the log. A worker process
 * (JSON logs) runs on a PostgreSQL of its own, which is stopped and started
 * again on the same port: one warning when it goes away, one line when it is
 * back, every line JSON through the application logger, and the work goes on.
 */

let dataDir: string;
let port: number;
let server: EmbeddedDatabase | undefined;
let emu: RunningEmulator;
let images: LoopbackServer;
let worker: WorkerProcess | undefined;
let url: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gs-outage-'));
  await chmod(dataDir, 0o755);
  port = await freePort();
  server = await startEmbeddedPostgres({ dataDir, persistent: true, port });
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query('CREATE DATABASE outage');
  await admin.end();
  url = withDatabase(server.url, 'outage');
  await runMigrations(url);
  emu = await startEmulator({ port: 0, batchDurationMs: 100 });
  images = await startImageHost();
}, 120_000);

afterAll(async () => {
  if (worker && worker.child.exitCode === null) {
    worker.child.kill('SIGKILL');
    await worker.exited;
  }
  await server?.stop();
  await images.close();
  await emu.close();
  await rm(dataDir, { recursive: true, force: true });
});

test('a PostgreSQL restart: one warning, one recovery line, all JSON, no stack traces; work resumes', async () => {
  worker = await startWorkerProcess({ databaseUrl: url, openaiBaseUrl: emu.url, env: { LOG_JSON: 'true', WORKER_POLL_INTERVAL: '0.1' } });
  const from = worker.output().length;

  await server!.stop();
  await waitFor(async () => worker!.output().includes('database unreachable'), { timeoutMs: 15_000, what: 'the outage warning' });
  server = await startEmbeddedPostgres({ dataDir, persistent: true, port });
  await waitFor(async () => worker!.output().includes('database reachable again'), { timeoutMs: 15_000, what: 'the recovery line' });

  const lines = worker
    .output()
    .slice(from)
    .split('\n')
    .filter((line) => line.trim() !== '');
  const parsed = lines.map((line) => JSON.parse(line) as { level: string; message: string; context?: string });
  expect(parsed.filter((entry) => /database unreachable/.test(entry.message))).toHaveLength(1);
  expect(parsed.filter((entry) => /database reachable again/.test(entry.message))).toHaveLength(1);
  expect(parsed.filter((entry) => entry.level === 'error' || entry.level === 'fatal')).toEqual([]);
  expect(lines.filter((line) => /\\n\s+at /.test(line))).toEqual([]); // no stack traces
  expect(parsed.length).toBeLessThanOrEqual(4);

  // The work goes on: a job stored after the restart is processed by the same worker.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const [{ id }] = (
      await client.query<{ id: string }>(
        `WITH job AS (
           INSERT INTO batch_jobs (client_id, processing_mode, version, languages, total_lots, webhook_configured, next_check_at)
           VALUES ('default', 'batch', '1.0.0', '["en"]'::jsonb, 1, false, now()) RETURNING id
         ), lot AS (
           INSERT INTO batch_lots (batch_job_id, position, lot_id, images) SELECT id, 0, 'after-restart', $1::jsonb FROM job
         ) SELECT id FROM job`,
        [JSON.stringify([{ url: `${images.url}/img/after.jpg` }])],
      )
    ).rows;
    await waitFor(
      async () => (await client.query(`SELECT 1 FROM batch_jobs WHERE id = $1 AND status = 'completed'`, [id])).rowCount === 1,
      {
        timeoutMs: 30_000,
        what: 'the job after the restart',
      },
    );
  } finally {
    await client.end();
  }
  worker.child.kill('SIGTERM');
  expect((await worker.exited).code).toBe(0);
}, 120_000);

test('while the database stays away: a reminder every minute, not a line per failure', () => {
  const lines: string[] = [];
  let now = 0;
  const monitor = new DatabaseOutageMonitor({
    url: 'postgresql://unused@127.0.0.1:9/unused',
    now: () => now,
    probeIntervalMs: 3_600_000, // the probe would only add failures; this test drives them
    logger: {
      log: (m: string) => lines.push(`log ${m}`),
      warn: (m: string) => lines.push(`warn ${m}`),
      error: (m: string) => lines.push(`error ${m}`),
    },
  });
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  expect(isConnectionError(refused)).toBe(true);
  expect(monitor.absorb(new Error('duplicate key value violates unique constraint'))).toBe(false);
  for (now = 0; now <= 150_000; now += 500) expect(monitor.absorb(refused)).toBe(true); // 301 failures in 2.5 minutes
  now = 150_000;
  monitor.succeeded();
  monitor.close();
  expect(lines).toEqual([
    'warn database unreachable (connect ECONNREFUSED 127.0.0.1:5432); work pauses until it is back',
    'warn database still unreachable after 60 s (connect ECONNREFUSED 127.0.0.1:5432)',
    'warn database still unreachable after 120 s (connect ECONNREFUSED 127.0.0.1:5432)',
    'log database reachable again after 150 s',
  ]);
});
