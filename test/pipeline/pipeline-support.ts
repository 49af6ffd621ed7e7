import { WorkerTickService } from '../../src/worker/worker-tick.service.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { startLoopbackServer, type LoopbackServer } from '../common/loopback-server.js';
import { startTestApp, type TestApp, type TestAppOptions } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** A tiny JPEG-ish body: image hosts only need a 2xx `image/*` answer. */
const IMAGE_BYTES = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 74, 70, 73, 70, 0, 1, 0xff, 0xd9]);

/**
 * An image host on loopback: `/img/*` serves an image, `/missing/*` answers
 * 404, `/text/*` serves text/html (not an image).
 */
export function startImageHost(): Promise<LoopbackServer> {
  return startLoopbackServer((request, response) => {
    if (request.path.startsWith('/img/')) {
      response.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': IMAGE_BYTES.length });
      response.end(IMAGE_BYTES);
    } else if (request.path.startsWith('/text/')) {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>not an image</html>');
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found');
    }
  });
}

/** Environment for a pipeline test app: fast polls, test-sized deadlines and backoffs. */
export function pipelineEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    WORKER_POLL_INTERVAL: '0.1',
    BATCH_RECONCILE_INTERVAL: '0.5',
    BATCH_RESUBMIT_BACKOFF: '0.2',
    BATCH_CANCEL_GRACE: '1',
    WORKER_CLAIM_LEASE: '30',
    IMAGE_CHECK_TIMEOUT: '10',
    OPENAI_MAX_RETRIES: '1',
    ...extra,
  };
}

export interface PipelineHarness {
  emu: RunningEmulator;
  images: LoopbackServer;
  app: TestApp;
  close(): Promise<void>;
}

/** Emulator + image host + one app (role `all` unless the env says otherwise). */
export async function startPipeline(
  options: { batchDurationMs?: number; env?: Record<string, string>; db?: TestDatabase } & Omit<
    TestAppOptions,
    'env' | 'db' | 'openaiBaseUrl'
  > = {},
): Promise<PipelineHarness> {
  const emu = await startEmulator({ port: 0, batchDurationMs: options.batchDurationMs ?? 100 });
  const images = await startImageHost();
  const app = await startTestApp({ env: pipelineEnv(options.env), db: options.db, openaiBaseUrl: emu.url });
  return {
    emu,
    images,
    app,
    async close() {
      await app.close();
      await images.close();
      await emu.close();
    },
  };
}

export interface SharedDatabaseHarness {
  emu: RunningEmulator;
  images: LoopbackServer;
  db: TestDatabase;
  /** Starts one more app (a replica, or a fresh process after a "crash") on the shared database. */
  start(env?: Record<string, string>): Promise<TestApp>;
  /** Closes one app early (its database stays). */
  stop(app: TestApp): Promise<void>;
  close(): Promise<void>;
}

/** Emulator + image host + one database that several app instances share (replicas, restarts). */
export async function startSharedDatabase(batchDurationMs = 100): Promise<SharedDatabaseHarness> {
  const emu = await startEmulator({ port: 0, batchDurationMs });
  const images = await startImageHost();
  const db = await createTestDatabase();
  const apps: TestApp[] = [];
  return {
    emu,
    images,
    db,
    async start(env = {}) {
      const app = await startTestApp({ db, openaiBaseUrl: emu.url, env: pipelineEnv(env) });
      apps.push(app);
      return app;
    },
    async stop(app) {
      apps.splice(apps.indexOf(app), 1);
      await app.close();
    },
    async close() {
      for (const app of apps.splice(0)) await app.close().catch(() => undefined);
      await images.close();
      await emu.close();
      await db.drop();
    },
  };
}

export interface LotSpec {
  lotId: string;
  additionalInfo?: string | null;
  images: string[];
  webhook?: string | null;
}

/**
 * Stores a batch job directly, as the jobs API would (for tests about the
 * worker, not the API): job and lots in one statement, so a running worker
 * never sees the job without its lots. `deferred` keeps the worker away until
 * the test sets `next_check_at`.
 */
export async function insertBatchJob(
  db: TestDatabase,
  args: { languages: string[]; lots: LotSpec[]; deferred?: boolean },
): Promise<string> {
  const rows = args.lots.map((lot, position) => ({
    position,
    lot_id: lot.lotId,
    additional_info: lot.additionalInfo ?? null,
    webhook_url: lot.webhook ?? null,
    images: lot.images.map((url) => ({ url })),
  }));
  const [inserted] = await db.query<{ id: string }>(
    `WITH job AS (
       INSERT INTO batch_jobs (client_id, processing_mode, version, languages, total_lots, webhook_configured, next_check_at)
       VALUES ('default', 'batch', '1.0.0', $1::jsonb, $2, $3, now() + CASE WHEN $5 THEN interval '1 day' ELSE interval '0' END)
       RETURNING id
     ), lots AS (
       INSERT INTO batch_lots (batch_job_id, position, lot_id, additional_info, webhook_url, images)
       SELECT job.id, v.position, v.lot_id, v.additional_info, v.webhook_url, v.images
         FROM job, jsonb_to_recordset($4::jsonb) AS v(position int, lot_id text, additional_info text, webhook_url text, images jsonb)
     )
     SELECT id FROM job`,
    [JSON.stringify(args.languages), args.lots.length, args.lots.some((lot) => lot.webhook), JSON.stringify(rows), args.deferred ?? false],
  );
  return inserted.id;
}

/** Ticks the app's worker until `check` returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function tickUntil<T>(
  apps: TestApp | TestApp[],
  check: () => Promise<T | undefined | false>,
  { timeoutMs = 30_000, what = 'condition' }: { timeoutMs?: number; what?: string } = {},
): Promise<T> {
  const workers = (Array.isArray(apps) ? apps : [apps]).map((app) => app.app.get(WorkerTickService));
  const stopAt = Date.now() + timeoutMs;
  for (;;) {
    await Promise.all(workers.map((worker) => worker.tick()));
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > stopAt) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Keeps ticking for `ms` (to show that nothing happens). */
export async function tickFor(apps: TestApp | TestApp[], ms: number): Promise<void> {
  const stopAt = Date.now() + ms;
  await tickUntil(apps, async () => Date.now() >= stopAt, { timeoutMs: ms + 10_000, what: 'time to pass' });
}

/** Polls without ticking (the app's own worker loop must make the progress). */
export { waitFor } from '../support/wait.js';

export interface JobRow {
  id: string;
  status: string;
  current_stage: string;
  processed_lots: number;
  failed_lots: number;
  error_message: string | null;
  openai_batch_id: string | null;
  openai_translation_batch_id: string | null;
  completed_at: Date | null;
  last_error: string | null;
  usage: Record<string, number>;
}

export async function jobRow(db: TestDatabase, jobId: string): Promise<JobRow> {
  const [row] = await db.query<JobRow>(`SELECT * FROM batch_jobs WHERE id = $1`, [jobId]);
  return row;
}

export interface LotRow {
  id: string;
  lot_id: string;
  status: string;
  vision_result: string | null;
  translations: Record<string, string> | null;
  missing_images: string[];
  processed_images: number;
  error_message: string | null;
  usage: Record<string, number>;
}

export async function lotRows(db: TestDatabase, jobId: string): Promise<Map<string, LotRow>> {
  const rows = await db.query<LotRow>(`SELECT * FROM batch_lots WHERE batch_job_id = $1 ORDER BY position`, [jobId]);
  return new Map(rows.map((row) => [row.lot_id, row]));
}

/** Waits (ticking) until the job is terminal; returns its row. */
export function untilTerminal(apps: TestApp | TestApp[], db: TestDatabase, jobId: string, timeoutMs = 30_000): Promise<JobRow> {
  return tickUntil(
    apps,
    async () => {
      const row = await jobRow(db, jobId);
      return ['completed', 'failed', 'cancelled'].includes(row.status) ? row : undefined;
    },
    { timeoutMs, what: `job ${jobId} to end` },
  );
}

export async function openaiBatches(db: TestDatabase, jobId: string) {
  return db.query<{
    stage: string;
    part: number;
    openai_batch_id: string;
    status: string;
    ingested_at: Date | null;
    abandoned_at: Date | null;
    cancel_requested_at: Date | null;
    reconciled_at: Date | null;
    last_error: string | null;
  }>(`SELECT * FROM openai_batches WHERE batch_job_id = $1 ORDER BY stage, part`, [jobId]);
}
