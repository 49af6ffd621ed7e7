import type { BenchEnv } from './bench-env.js';
import { postBatch, type BenchRequest } from './create-request.bench.js';

const TERMINAL = ['completed', 'failed', 'cancelled'];
/** A job still `queued` this long after creation means no worker is processing jobs. */
const NO_WORKER_AFTER_MS = 60_000;

export type EndToEnd = { skipped: string } | { elapsedMs: number; status: string; processed: number; failed: number; finished: boolean };

/**
 * (2) The same 50,000-lot request end to end on the emulator with instant
 * batches, in a process with APP_ROLE=all: image checks, vision batch,
 * ingestion, translation batch, ingestion, completion.
 */
export async function benchEndToEnd(env: BenchEnv, request: BenchRequest, timeoutMs = 8 * 60_000): Promise<EndToEnd> {
  // Only this job may compete for the worker.
  await env.sql.query(
    `UPDATE batch_jobs SET status = 'cancelled', current_stage = 'cancelled' WHERE status IN ('pending', 'processing', 'translating')`,
  );
  const app = await env.startApp('all');
  try {
    const started = performance.now();
    const jobId = await postBatch(app, request);
    let seen = '';
    for (;;) {
      const {
        rows: [job],
      } = await env.sql.query<{ status: string; current_stage: string; processed_lots: number; failed_lots: number }>(
        'SELECT status, current_stage, processed_lots, failed_lots FROM batch_jobs WHERE id = $1',
        [jobId],
      );
      const elapsedMs = performance.now() - started;
      const state = `${job.status}/${job.current_stage}`;
      if (state !== seen) {
        console.log(
          `  ${(elapsedMs / 1000).toFixed(1).padStart(6)} s  ${state}  processed ${job.processed_lots}, failed ${job.failed_lots}`,
        );
        seen = state;
      }
      if (TERMINAL.includes(job.status)) {
        return { elapsedMs, status: job.status, processed: job.processed_lots, failed: job.failed_lots, finished: true };
      }
      if (job.current_stage === 'queued' && elapsedMs > NO_WORKER_AFTER_MS) return { skipped: 'worker not available' };
      if (elapsedMs > timeoutMs)
        return { elapsedMs, status: state, processed: job.processed_lots, failed: job.failed_lots, finished: false };
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    await app.close();
  }
}
