import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { WebhookSenderService } from '../../src/webhooks/webhook-sender.service.js';
import { WebhooksService } from '../../src/webhooks/webhooks.service.js';
import type { TestApp } from '../support/app.js';
import type { TestDatabase } from '../support/database.js';
import type { RecordedRequest } from '../common/loopback-server.js';

/* Factories, drivers and independent signature verifiers for the webhook tests. */

export interface LotSpec {
  lotId: string;
  webhook?: string | null;
  status?: 'completed' | 'failed';
  en?: string | null;
  translations?: Record<string, string> | null;
  missing?: string[];
  error?: string | null;
}

export interface JobSpec {
  status?: 'completed' | 'failed' | 'cancelled';
  clientId?: string;
  languages?: string[];
  errorMessage?: string | null;
  lots: LotSpec[];
}

/** Writes a job that already reached a terminal status, as the pipeline leaves it, and returns its id. */
export async function insertTerminalJob(db: TestDatabase, spec: JobSpec): Promise<string> {
  const status = spec.status ?? 'completed';
  const clientId = spec.clientId ?? 'default';
  if (clientId !== 'default') {
    await db.query(`INSERT INTO api_clients (id, name) VALUES ($1, 'Another tenant') ON CONFLICT DO NOTHING`, [clientId]);
  }
  const failed = spec.lots.filter((lot) => lot.status === 'failed').length;
  const [job] = await db.query<{ id: string }>(
    `INSERT INTO batch_jobs (client_id, status, processing_mode, version, languages, total_lots, processed_lots, failed_lots,
       current_stage, error_message, webhook_configured, created_at, started_at, completed_at, cancelled_at)
     VALUES ($1, $2, 'batch', '1.0.0', $3, $4, $5, $6, $2, $7, $8,
       TIMESTAMPTZ '2025-08-05T07:30:00Z', TIMESTAMPTZ '2025-08-05T07:30:00Z',
       CASE WHEN $2::text = 'cancelled' THEN NULL ELSE TIMESTAMPTZ '2025-08-05T08:15:00Z' END,
       CASE WHEN $2::text = 'cancelled' THEN TIMESTAMPTZ '2025-08-05T08:15:00Z' ELSE NULL END)
     RETURNING id`,
    [
      clientId,
      status,
      JSON.stringify(spec.languages ?? ['en', 'de']),
      spec.lots.length,
      spec.lots.length - failed,
      failed,
      spec.errorMessage ?? null,
      spec.lots.some((lot) => lot.webhook),
    ],
  );
  for (const [position, lot] of spec.lots.entries()) {
    const ok = lot.status !== 'failed';
    await db.query(
      `INSERT INTO batch_lots (batch_job_id, position, lot_id, webhook_url, images, status, vision_result, translations,
         missing_images, processed_images, error_message, processed_at)
       VALUES ($1, $2, $3, $4, '[{"url":"https://img.example.com/1.jpg"}]', $5, $6, $7, $8, $9, $10,
         TIMESTAMPTZ '2025-08-05T08:10:00Z' + $2::int * INTERVAL '1 second')`,
      [
        job.id,
        position,
        lot.lotId,
        lot.webhook ?? null,
        lot.status ?? 'completed',
        lot.en !== undefined ? lot.en : ok ? `<p>Damage of ${lot.lotId}</p>` : null,
        lot.translations !== undefined
          ? JSON.stringify(lot.translations)
          : ok
            ? JSON.stringify({ de: `<p>Schaden ${lot.lotId}</p>` })
            : null,
        JSON.stringify(lot.missing ?? []),
        ok ? 1 : 0,
        lot.error ?? (ok ? null : 'Vision analysis failed'),
      ],
    );
  }
  return job.id;
}

/** Inserts the job and enqueues its deliveries the way the pipeline does; returns the job id. */
export async function finishedJobWithWebhooks(t: TestApp, spec: JobSpec): Promise<string> {
  const jobId = await insertTerminalJob(t.db, spec);
  await t.app.get(WebhooksService).enqueueForJob(jobId);
  return jobId;
}

export interface DeliveryRow {
  id: string;
  webhook_url: string;
  event: string;
  part: number;
  parts: number;
  status: string;
  attempt_count: number;
  max_attempts: number;
  next_attempt_at: Date | null;
  last_attempt_at: Date | null;
  delivered_at: Date | null;
  response_status: number | null;
  response_excerpt: string | null;
  error_message: string | null;
  planned_bytes: number;
  lot_count: number;
}

export function deliveries(db: TestDatabase, jobId: string): Promise<DeliveryRow[]> {
  return db.query<DeliveryRow>('SELECT * FROM webhook_deliveries WHERE batch_job_id = $1 ORDER BY webhook_url, part', [jobId]);
}

/**
 * Runs the webhook worker task of each app (what its worker tick runs, without
 * waiting for the other tasks of the tick) until `done` holds, or fails after
 * the deadline: polling, never a fixed sleep.
 */
export async function driveUntil(apps: TestApp[], done: () => Promise<boolean>, deadlineMs = 15_000): Promise<void> {
  const stopAt = Date.now() + deadlineMs;
  for (;;) {
    await Promise.all(apps.map((app) => app.app.get(WebhookSenderService).deliverDue()));
    if (await done()) return;
    if (Date.now() > stopAt) throw new Error(`condition not reached within ${deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
}

/** Every delivery of the job has left `pending`. */
export const allSettled = (db: TestDatabase, jobId: string) => async () =>
  (await deliveries(db, jobId)).every((row) => row.status !== 'pending');

const header = (headers: IncomingHttpHeaders, name: string): string => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : (value ?? '');
};

/** Reference 002's `verify_webhook_signature`, line for line: hex HMAC of the UTF-8 body text. */
export function verify002(body: Buffer, received: string, sharedKey: string): boolean {
  const expected = createHmac('sha256', Buffer.from(sharedKey, 'utf8')).update(body.toString('utf8'), 'utf8').digest('hex');
  return `sha256=${expected}` === received;
}

/**
 * A Standard Webhooks receiver written from the spec (not from our signer):
 * secret `whsec_<base64 key>`, signed content `id.timestamp.body`, a
 * space-separated list of `v1,<base64>` signatures, and a 5-minute tolerance.
 */
export function verifyStandardWebhooks(
  secret: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
  nowSeconds = Date.now() / 1000,
): boolean {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !/^\d+$/.test(timestamp) || !signatures) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  const expected = createHmac('sha256', key)
    .update(`${id}.${timestamp}.${body.toString('utf8')}`)
    .digest();
  return signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',');
    const given = Buffer.from(signature ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/** `(webhook-id, attempt)` of each request a receiver got. */
export const attemptKeys = (requests: RecordedRequest[]) =>
  requests.map((request) => `${header(request.headers, 'webhook-id')}#${header(request.headers, 'x-delivery-attempt')}`);

export { header };
