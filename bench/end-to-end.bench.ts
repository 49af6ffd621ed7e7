import { Worker } from 'node:worker_threads';
import type { BenchEnv } from './bench-env.js';
import { buildRequest, postBatch } from './create-request.bench.js';
import type { OutsideWorld } from './emulator.worker.js';

const TERMINAL = ['completed', 'failed', 'cancelled'];
/** A job still `queued` this long after creation means no worker is processing jobs. */
const NO_WORKER_AFTER_MS = 60_000;

export type EndToEnd =
  | { skipped: string }
  | {
      elapsedMs: number;
      status: string;
      processed: number;
      failed: number;
      finished: boolean;
      /** Event-loop busy time of the service's thread (this one) over the run. */
      serviceBusyMs: number;
      /** Event-loop busy time of the emulator's and image host's thread over the run. */
      outsideBusyMs: number;
    };

/** The emulator and the image host, started in their own thread (bench/emulator.worker.ts). */
class OutsideThread {
  private constructor(
    readonly worker: Worker,
    readonly world: OutsideWorld,
  ) {}

  static async start(): Promise<OutsideThread> {
    const worker = new Worker(new URL('./emulator.worker.js', import.meta.url));
    const world = await new Promise<OutsideWorld>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    return new OutsideThread(worker, world);
  }

  async close(): Promise<void> {
    const closed = new Promise((resolve) => this.worker.once('message', resolve));
    this.worker.postMessage('close');
    await closed;
    await this.worker.terminate();
  }
}

/**
 * (2) A `lotCount`-lot request end to end on the emulator with instant
 * batches, in a process with APP_ROLE=all: image checks, vision batch,
 * ingestion, translation batch, ingestion, completion. The emulator and the
 * image host run in a thread of their own, so the wall time splits into the
 * service's event-loop busy time, theirs, and the rest (waiting on
 * PostgreSQL, poll intervals). Not in the service's share: its JSON parser
 * pool's threads (one body parse).
 */
export async function benchEndToEnd(env: BenchEnv, lotCount: number, timeoutMs = 8 * 60_000): Promise<EndToEnd> {
  // Only this job may compete for the worker.
  await env.sql.query(
    `UPDATE batch_jobs SET status = 'cancelled', current_stage = 'cancelled' WHERE status IN ('pending', 'processing', 'translating')`,
  );
  const outside = await OutsideThread.start();
  try {
    const request = buildRequest(outside.world.imageBase, lotCount);
    const app = await env.startApp('all', { openaiBaseUrl: outside.world.emulatorUrl });
    try {
      const serviceStart = performance.eventLoopUtilization();
      const outsideStart = outside.worker.performance.eventLoopUtilization();
      const started = performance.now();
      const busy = () => ({
        serviceBusyMs: performance.eventLoopUtilization(serviceStart).active,
        outsideBusyMs: outside.worker.performance.eventLoopUtilization(outsideStart).active,
      });
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
        const figures = { elapsedMs, status: job.status, processed: job.processed_lots, failed: job.failed_lots };
        if (TERMINAL.includes(job.status)) return { ...figures, finished: true, ...busy() };
        if (job.current_stage === 'queued' && elapsedMs > NO_WORKER_AFTER_MS) return { skipped: 'worker not available' };
        if (elapsedMs > timeoutMs) return { ...figures, status: state, finished: false, ...busy() };
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    } finally {
      await app.close();
    }
  } finally {
    await outside.close();
  }
}
