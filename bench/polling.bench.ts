import { SignatureAuthGuard } from '../src/auth/signature-auth.guard.js';
import { sign } from '../src/auth/hmac.js';
import { BARE_ROUTE, BENCH_SHARED_KEY, type BenchEnv, type RunningApp } from './bench-env.js';
import type { LoadClient } from './load-client.js';
import { median, peakRss, profiled } from './measure.js';

/**
 * Whether the bare route answers 200 with the body of `/health/live` without running the global guard: the guard's
 * `canActivate` is counted (on its prototype, restored after) over one request to each route.
 */
export async function checkBareRoute(app: RunningApp) {
  const guard = SignatureAuthGuard.prototype;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the guard instance's own `this`
  const canActivate = guard.canActivate;
  let calls = 0;
  guard.canActivate = function (this: SignatureAuthGuard, ...args: Parameters<SignatureAuthGuard['canActivate']>) {
    calls++;
    return canActivate.apply(this, args);
  };
  try {
    const bare = await fetch(app.url + BARE_ROUTE);
    const bareBody = await bare.text();
    const bareCalls = calls;
    const live = await fetch(`${app.url}/health/live`);
    const liveBody = await live.text();
    return { status: bare.status, sameBody: bare.status === live.status && bareBody === liveBody, bareCalls, liveCalls: calls - bareCalls };
  } finally {
    guard.canActivate = canActivate;
  }
}

interface Target {
  key: 'bare' | 'live' | 'seed' | 'v2';
  path: string;
  headers: Record<string, string>;
  v2?: { keyId: string; secret: string };
}

/** Requests per second of one GET route over keep-alive connections from another thread. */
async function requestsPerSecond(app: RunningApp, load: LoadClient, target: Target, connections: number, durationMs: number) {
  const { path, headers, v2 } = target;
  const answer = await load.run<'status'>({ mode: 'status', origin: app.url, path, headers, v2, connections, durationMs, warmupMs: 1_000 });
  if (answer.failed > 0) throw new Error(`${answer.failed} requests to ${path} did not answer 200`);
  return (answer.ok / answer.elapsedMs) * 1000;
}

type StatusFigures = Record<Target['key'], number>;

/**
 * (4) Requests per second, over the same keep-alive load from another thread, of: the bare route (the HTTP stack
 * and our `app.use` middleware, no Nest pipeline), `GET /health/live` (the whole Nest pipeline, no signature, no
 * database), `GET /batch-status/{id}` signed with the seed scheme, and the same route signed with RFC 9421 by a
 * client of its own (`v2Job`, its key; each request freshly signed, so its nonce is checked and remembered).
 * `rounds` rounds, each measuring all four one after the other (starting one further each round), so that machine
 * drift hits all alike; medians of the rounds, and each ratio the median of its rounds' ratios. With BENCH_PROFILE,
 * one more round, profiled and not counted (the profiler slows what it watches).
 */
export async function benchStatus(
  app: RunningApp,
  load: LoadClient,
  jobId: string,
  v2Job: { jobId: string; keyId: string; secret: string },
  { rounds = 3, connections = 32, durationMs = 5_000 } = {},
) {
  const targets: Target[] = [
    { key: 'bare', path: BARE_ROUTE, headers: {} },
    { key: 'live', path: '/health/live', headers: {} },
    { key: 'seed', path: `/api/v1/batch-status/${jobId}`, headers: { 'X-Signature': sign(BENCH_SHARED_KEY, jobId) } },
    { key: 'v2', path: `/api/v1/batch-status/${v2Job.jobId}`, headers: {}, v2: v2Job },
  ];
  const perRound: StatusFigures[] = [];
  for (let round = 0; round < rounds; round++) {
    const figures = {} as StatusFigures;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(i + round) % targets.length];
      figures[target.key] = await requestsPerSecond(app, load, target, connections, durationMs);
    }
    console.log(`  round ${round + 1}: ${targets.map(({ key }) => `${key} ${figures[key].toFixed(0)}`).join(', ')} req/s`);
    perRound.push(figures);
  }
  if (process.env.BENCH_PROFILE) {
    for (const target of targets) {
      const label = target.key === 'bare' ? 'bare-route' : target.key === 'live' ? 'health-live' : `batch-status-${target.key}`;
      const rps = await profiled(label, () => requestsPerSecond(app, load, target, connections, durationMs));
      console.log(`  profiled ${label}: ${rps.toFixed(0)} req/s`);
    }
  }
  const medianOf = (figure: (round: StatusFigures) => number) => median(perRound.map(figure));
  return {
    rps: {
      bare: medianOf((r) => r.bare),
      live: medianOf((r) => r.live),
      seed: medianOf((r) => r.seed),
      v2: medianOf((r) => r.v2),
    },
    ratios: {
      seedToLive: medianOf((r) => r.seed / r.live),
      v2ToLive: medianOf((r) => r.v2 / r.live),
      liveToBare: medianOf((r) => r.live / r.bare),
    },
    rounds,
    connections,
    durationMs,
  };
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
