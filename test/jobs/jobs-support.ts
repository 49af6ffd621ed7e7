import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { JobStatusCache } from '../../src/jobs/status-cache/job-status-cache.js';
import type { TestApp } from '../support/app.js';
import type { TestDatabase } from '../support/database.js';

/* Builders and direct-SQL helpers shared by the jobs API tests. */

export type Json = any;

export interface LotInput {
  lot_id: string;
  additional_info?: string | null;
  webhook?: string | null;
  images: { url: string }[];
}

export function lot(id: string, extra: Partial<LotInput> = {}): LotInput {
  return { lot_id: id, additional_info: `Vehicle ${id}, rear damage`, images: [{ url: `https://img.example.com/${id}/1.jpg` }], ...extra };
}

export function lots(count: number, prefix = 'lot'): LotInput[] {
  return Array.from({ length: count }, (_, i) => lot(`${prefix}-${i + 1}`));
}

export async function body(res: Response): Promise<Json> {
  return (await res.json()) as Json;
}

/**
 * The status cache's read-your-writes barrier: once it resolves, the app's `batch-status` shows every change
 * committed before (by the test's own SQL, a worker, another replica). Call it between such a change and a status
 * read that must see it; polling loops need none.
 */
export async function statusSynced(t: Pick<TestApp, 'app'>): Promise<void> {
  await t.app.get(JobStatusCache).sync();
}

/** POSTs a batch and returns the accepted job id (fails the test on anything but 201). */
export async function createBatch(t: TestApp, count = 2, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await t.postLots({ version: '1.0.0', languages: ['en', 'de'], lots: lots(count), ...extra });
  const json = await body(res);
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${JSON.stringify(json)}`);
  return json.job_id as string;
}

export async function countRows(db: TestDatabase): Promise<{ jobs: number; lots: number }> {
  const [row] = await db.query<{ jobs: number; lots: number }>(
    'SELECT (SELECT count(*)::int FROM batch_jobs) AS jobs, (SELECT count(*)::int FROM batch_lots) AS lots',
  );
  return row;
}

/**
 * Plays the worker's part for a finished job: what the batch pipeline writes
 * when vision and translation are done (English is the vision result, the
 * rest are translations; every third lot failed with a reason).
 */
export async function finishJob(db: TestDatabase, jobId: string, status: 'completed' | 'failed' = 'completed'): Promise<void> {
  await db.query(
    `UPDATE batch_lots SET
       status = CASE WHEN position % 3 = 2 THEN 'failed' ELSE 'completed' END,
       vision_result = CASE WHEN position % 3 = 2 THEN NULL ELSE '<p>Damage of ' || lot_id || '</p>' END,
       translations = CASE WHEN position % 3 = 2 THEN NULL ELSE jsonb_build_object('de', '<p>[de] Schaden ' || lot_id || '</p>') END,
       missing_images = CASE WHEN position = 0 THEN '["https://img.example.com/missing.jpg"]'::jsonb ELSE '[]'::jsonb END,
       processed_images = CASE WHEN position % 3 = 2 THEN 0 ELSE 2 END,
       error_message = CASE WHEN position % 3 = 2 THEN 'Vision analysis failed (refusal): I''m sorry' ELSE NULL END,
       processed_at = TIMESTAMPTZ '2025-08-05T08:10:00Z' + position * INTERVAL '1 second'
     WHERE batch_job_id = $1`,
    [jobId],
  );
  await db.query(
    `UPDATE batch_jobs SET status = $2, current_stage = $2,
       processed_lots = (SELECT count(*) FROM batch_lots WHERE batch_job_id = $1 AND status = 'completed'),
       failed_lots = (SELECT count(*) FROM batch_lots WHERE batch_job_id = $1 AND status = 'failed'),
       created_at = TIMESTAMPTZ '2025-08-05T07:30:00Z', completed_at = TIMESTAMPTZ '2025-08-05T08:15:00Z',
       openai_batch_id = 'batch_vision_1', openai_translation_batch_id = 'batch_translation_1'
     WHERE id = $1`,
    [jobId, status],
  );
}

/** A job of another client, written directly: the API must never show it to the default client. */
export async function insertForeignJob(db: TestDatabase): Promise<string> {
  await db.query(`INSERT INTO api_clients (id, name) VALUES ('other-client', 'Another tenant') ON CONFLICT DO NOTHING`);
  const [row] = await db.query<{ id: string }>(
    `INSERT INTO batch_jobs (client_id, status, processing_mode, version, languages, total_lots)
     VALUES ('other-client', 'processing', 'batch', '1.0.0', '["en"]', 2) RETURNING id`,
  );
  await db.query(`INSERT INTO batch_lots (batch_job_id, position, lot_id, images) VALUES ($1, 0, 'x-1', '[]'), ($1, 1, 'x-2', '[]')`, [
    row.id,
  ]);
  return row.id;
}

/** A 1×1 PNG: what image checks and the emulator's downloads need to see an image. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

/** A loopback server answering every path with the PNG; `base` is its origin. */
export async function startImageServer(): Promise<{ base: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': PNG.length }).end(PNG);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
