import { setTimeout as delay } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { sign } from '../src/auth/hmac.js';
import { BENCH_SHARED_KEY, type RunningApp } from './bench-env.js';
import { postBatch, type BenchRequest } from './create-request.bench.js';
import type { LoadClient } from './load-client.js';
import { gc, peakRss } from './measure.js';

/**
 * Probes `GET /health/live` every 50 ms from its own thread (its event loop is
 * not the server's, so a stalled server shows as a slow answer, not as a late
 * probe) and reports the slowest answer once stopped.
 */
class LivenessProbe {
  private constructor(private readonly worker: Worker) {}

  static async start(url: string): Promise<LivenessProbe> {
    const worker = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      let worst = 0, count = 0, failed = 0, running = true;
      parentPort.on('message', () => { running = false; });
      (async () => {
        parentPort.postMessage('ready');
        while (running) {
          const started = performance.now();
          try {
            const res = await fetch(workerData.url);
            await res.arrayBuffer();
            if (res.status !== 200) failed++;
          } catch { failed++; }
          worst = Math.max(worst, performance.now() - started);
          count++;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        parentPort.postMessage({ worst, count, failed });
      })();
    `,
      { eval: true, workerData: { url: `${url}/health/live` } },
    );
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    return new LivenessProbe(worker);
  }

  async stop(): Promise<{ worst: number; count: number; failed: number }> {
    const answer = new Promise<{ worst: number; count: number; failed: number }>((resolve) => this.worker.once('message', resolve));
    this.worker.postMessage('stop');
    const result = await answer;
    await this.worker.terminate();
    return result;
  }
}

/** What a hostile or heavy request did to the process: peak RSS and the slowest /health/live meanwhile. */
export interface Impact<T> {
  result: T;
  peakRss: number;
  worstLiveMs: number;
  probes: number;
  failedProbes: number;
}

async function underProbe<T>(app: RunningApp, work: () => Promise<T>): Promise<Impact<T>> {
  gc(); // before the probe starts: a full collection of the bench's own heap is a stall of its own
  const probe = await LivenessProbe.start(app.url);
  try {
    const measured = await peakRss(work, { collectFirst: false });
    const live = await probe.stop();
    return { result: measured.result, peakRss: measured.peak, worstLiveMs: live.worst, probes: live.count, failedProbes: live.failed };
  } catch (error) {
    await probe.stop().catch(() => undefined);
    throw error;
  }
}

/**
 * A thread that builds a bomb — 100 MB of `[],` (33 million tiny values),
 * gzipped (~100 KB) or not — and POSTs it when told. The client's work
 * (building, compressing, sending 100 MB) stays off the server's event loop
 * and heap, which share this process.
 */
class BombSender {
  private constructor(
    private readonly worker: Worker,
    readonly bytes: number,
  ) {}

  static async prepare(app: RunningApp, gzip: boolean): Promise<BombSender> {
    const worker = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      const { gzipSync } = require('node:zlib');
      const plain = Buffer.alloc(100 * 1024 * 1024, '[],');
      plain[0] = 0x5b;
      plain.write('[]]', plain.length - 3);
      const body = workerData.gzip ? gzipSync(plain, { level: 9 }) : plain;
      parentPort.postMessage(body.length);
      parentPort.once('message', async () => {
        const headers = { 'Content-Type': 'application/json', 'X-Signature': 'sha256=' + '0'.repeat(64) };
        if (workerData.gzip) headers['Content-Encoding'] = 'gzip';
        const res = await fetch(workerData.url, { method: 'POST', headers, body });
        await res.arrayBuffer();
        parentPort.postMessage(res.status);
      });
    `,
      { eval: true, workerData: { url: `${app.url}/api/v1/generate-descriptions`, gzip } },
    );
    const bytes = await new Promise<number>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    return new BombSender(worker, bytes);
  }

  async fire(): Promise<number> {
    try {
      const status = new Promise<number>((resolve, reject) => {
        this.worker.once('message', resolve);
        this.worker.once('error', reject);
      });
      this.worker.postMessage('go');
      return await status;
    } finally {
      await this.worker.terminate();
    }
  }
}

/** (6) A decompression bomb and a 100 MB body of tiny values, unauthenticated, one after the other. */
export async function benchBombs(app: RunningApp) {
  const gzip = await BombSender.prepare(app, true);
  const compressed = await underProbe(app, () => gzip.fire());
  const plain = await BombSender.prepare(app, false);
  const uncompressed = await underProbe(app, () => plain.fire());
  return { compressed, uncompressed, gzipBytes: gzip.bytes };
}

/**
 * (7) Three legitimate 50,000-lot requests at once. Beside the liveness probe, `connections` clients poll the
 * signed batch-status of `polledJobId` (a small job) in a closed loop from the load thread, every latency recorded:
 * `idleMs` long with nothing else running, then from the moment the POSTs start until all three answered.
 */
export async function benchConcurrentCreates(
  app: RunningApp,
  request: BenchRequest,
  load: LoadClient,
  polledJobId: string,
  { connections = 8, idleMs = 5_000 } = {},
) {
  const polling = {
    mode: 'latency' as const,
    origin: app.url,
    path: `/api/v1/batch-status/${polledJobId}`,
    headers: { 'X-Signature': sign(BENCH_SHARED_KEY, polledJobId) },
    connections,
    warmupMs: 500,
  };
  const stopIdle = await load.startLatency(polling);
  await delay(idleMs);
  const idle = await stopIdle();
  const impact = await underProbe(app, async () => {
    const stop = await load.startLatency(polling);
    const settled = await Promise.allSettled([postBatch(app, request), postBatch(app, request), postBatch(app, request)]);
    const during = await stop();
    return { during, statuses: settled.map((outcome) => (outcome.status === 'fulfilled' ? 201 : String(outcome.reason).slice(0, 120))) };
  });
  return { ...impact, result: impact.result.statuses, idle, during: impact.result.during, connections };
}
