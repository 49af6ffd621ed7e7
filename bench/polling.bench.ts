import { sign } from '../src/auth/hmac.js';
import { BENCH_SHARED_KEY, type BenchEnv, type RunningApp } from './bench-env.js';
import type { LoadClient } from './load-client.js';
import { peakRss, profiled } from './measure.js';

/** Requests per second of one GET route over keep-alive connections from another thread. */
async function requestsPerSecond(
  app: RunningApp,
  load: LoadClient,
  path: string,
  headers: Record<string, string>,
  connections: number,
  durationMs: number,
  v2?: { keyId: string; secret: string },
) {
  const label = path.startsWith('/api/') ? `batch-status-${v2 ? 'v2' : 'seed'}` : path.slice(1);
  const answer = await profiled(label, () =>
    load.run<'status'>({ mode: 'status', origin: app.url, path, headers, v2, connections, durationMs, warmupMs: 1_000 }),
  );
  if (answer.failed > 0) throw new Error(`${answer.failed} requests to ${path} did not answer 200`);
  return (answer.ok / answer.elapsedMs) * 1000;
}

/**
 * (4) Signed `GET /batch-status/{id}` requests per second, next to the same
 * load on `GET /health/live` (no signature, no database): the ceiling of the
 * HTTP stack itself on this machine. Then the same route signed with RFC 9421
 * by a client of its own (`v2Job`, its key): each request freshly signed, so
 * its nonce is checked and remembered — the per-request cost of v2.
 */
export async function benchStatus(
  app: RunningApp,
  load: LoadClient,
  jobId: string,
  v2Job: { jobId: string; keyId: string; secret: string },
  connections = 32,
  durationMs = 5_000,
) {
  const rps = await requestsPerSecond(
    app,
    load,
    `/api/v1/batch-status/${jobId}`,
    { 'X-Signature': sign(BENCH_SHARED_KEY, jobId) },
    connections,
    durationMs,
  );
  const ceiling = await requestsPerSecond(app, load, '/health/live', {}, connections, durationMs);
  const v2 = await requestsPerSecond(app, load, `/api/v1/batch-status/${v2Job.jobId}`, {}, connections, durationMs, v2Job);
  return { rps, ceiling, v2, connections };
}

/**
 * Writes what the pipeline would have produced for every lot of `jobId`
 * (English HTML plus two translations of realistic length) and completes it.
 */
export async function completeWithResults(env: BenchEnv, jobId: string): Promise<void> {
  const paragraph = (tag: string) =>
    `<p>${tag}Minor rear-end collision damage. The rear bumper shows impact deformation with paint scratches and minor denting.</p>` +
    `<p>${tag}No structural damage visible. Recommended repairs include bumper replacement and paint touch-up.</p>`;
  await env.sql.query(
    `UPDATE batch_lots SET status = 'completed', vision_result = $2, translations = $3::jsonb, processed_images = 3,
            processed_at = now(), usage = '{"total_tokens": 1500}'::jsonb
      WHERE batch_job_id = $1`,
    [jobId, paragraph(''), JSON.stringify({ de: paragraph('[de] '), fr: paragraph('[fr] ') })],
  );
  await env.sql.query(
    `UPDATE batch_jobs SET status = 'completed', current_stage = 'completed', processed_lots = total_lots, completed_at = now() WHERE id = $1`,
    [jobId],
  );
}

/** (5) RSS growth of the process while a 50,000-lot download streams to a client that keeps nothing. */
export async function benchDownload(app: RunningApp, load: LoadClient, jobId: string) {
  const measured = await peakRss(() =>
    load.run<'download'>({
      mode: 'download',
      url: `${app.url}/api/v1/batch-results/${jobId}/download`,
      headers: { 'X-Signature': sign(BENCH_SHARED_KEY, jobId) },
    }),
  );
  const answer = measured.result;
  if (answer.status !== 200 || !answer.tail.endsWith(']}}') || !answer.contentDisposition?.includes(`batch_results_${jobId}.json`)) {
    throw new Error(`download failed: status ${answer.status}, tail ${JSON.stringify(answer.tail)}`);
  }
  return { growth: measured.peak - measured.baseline, bytes: answer.bytes, elapsedMs: answer.elapsedMs };
}
