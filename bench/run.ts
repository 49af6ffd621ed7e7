/**
 * `npm run bench`: starts everything embedded (PostgreSQL in a temporary
 * folder, the OpenAI emulator with instant batches, a loopback image server,
 * the app) and prints, measured in this one run (issues 4, 8 and 15):
 * (4) req/s of a bare route (our middleware, no Nest guard, interceptor or
 *     filter), /health/live, batch-status signed with the seed scheme and with
 *     RFC 9421, medians of 3 interleaved rounds, and the ratios
 *     seed / live ≥ 0.8×, v2 / live ≥ 0.8×, live / bare ≥ 0.9×;
 * (1) POST → 201 of a 50,000-lot job against its baseline, peak RSS;
 * (5) a 50,000-lot streamed download and the RSS growth meanwhile;
 * (3) ingestion of a 50,000-line output file, peak RSS;
 * (6) a decompression bomb and 100 MB of tiny values: 413, peak RSS, worst /health/live;
 * (7) three concurrent 50,000-lot POSTs: 201 × 3, peak RSS, worst /health/live,
 *     and batch-status p50/p99 polled by 8 connections, idle and during the POSTs (p99 < 100 ms);
 * (2) the 50,000-lot job end to end with APP_ROLE=all (< 5 min), split into
 *     the service's event-loop busy time, the emulator's (own thread) and the rest.
 * BENCH_PROFILE=<folder>: CPU profiles of the server thread over one more round of (4), not counted.
 * Not a test: it asserts nothing, it reports (targets are printed beside).
 */
import { ClientsService } from '../src/auth/clients/clients.service.js';
import 'reflect-metadata';
import { startBenchEnv } from './bench-env.js';
import { buildRequest, benchCreate, postBatch } from './create-request.bench.js';
import { benchEndToEnd } from './end-to-end.bench.js';
import { benchBombs, benchConcurrentCreates } from './hostile-input.bench.js';
import { BatchMonitorModule } from '../src/batch-monitor/batch-monitor.module.js';
import { benchIngestion } from './ingestion.bench.js';
import { LoadClient } from './load-client.js';
import { megabytes, MB, printTable, seconds, type Row } from './measure.js';
import { benchDownload, benchStatus, checkBareRoute, completeWithResults } from './polling.bench.js';

const GB = 1024 * MB;

/**
 * BENCH_STEPS=1,4 runs only those measurements (1 runs whenever 2, 3 or 5 does: they use its jobs);
 * BENCH_STEPS=6,7 runs only the hostile-input figures of issue 8.
 */
const STEPS = new Set((process.env.BENCH_STEPS ?? '1,2,3,4,5,6,7').split(',').map((part) => part.trim()));
if (['2', '3', '5'].some((n) => STEPS.has(n))) STEPS.add('1');

async function step(rows: Row[], name: string, work: () => Promise<Row[]>): Promise<void> {
  const number = /^\((\d)\)/.exec(name)?.[1];
  if (number && !STEPS.has(number)) return;
  console.log(`\n== ${name}`);
  try {
    rows.push(...(await work()));
  } catch (error) {
    console.error(error);
    rows.push({
      metric: name,
      value: `error: ${error instanceof Error ? error.message.slice(0, 80) : String(error)}`,
      target: '',
      met: false,
    });
  }
}

async function main(): Promise<void> {
  if (!(globalThis as { gc?: unknown }).gc) console.warn('run with node --expose-gc for exact memory baselines');
  const rows: Row[] = [];
  const env = await startBenchEnv();
  const load = await LoadClient.start();
  try {
    const request = buildRequest(env.imageBase);
    console.log(
      `request: ${request.lotCount.toLocaleString('en-US')} lots × 3 images × 3 languages, ${megabytes(request.text.length)} of JSON`,
    );
    // API-only process for the isolated measurements, so the worker does not process these jobs meanwhile.
    // BatchMonitorModule mounted for (3), which times its BatchIngestionService; the API role alone no longer loads
    // the pipeline, and without the worker role nothing ticks.
    const api = await env.startApp('api', { extraModules: [BatchMonitorModule] });
    let jobIds: string[] = [];

    await step(rows, '(4) GET batch-status throughput', async () => {
      // First, on a fresh process and database: the figure is about the request path, not about the
      // garbage and autovacuum the 50,000-lot inserts leave behind (they compete for the 2 cores).
      const bare = await checkBareRoute(api);
      const jobId = await postBatch(api, buildRequest(env.imageBase, 2));
      const issued = await api.app.get(ClientsService).create('bench v2 client');
      const v2 = { keyId: issued.key_id, secret: issued.secret! };
      const status = await benchStatus(api, load, jobId, { ...v2, jobId: await postBatch(api, buildRequest(env.imageBase, 2), v2) });
      const rps = (value: number) => ({ value: `${value.toFixed(0)} req/s`, target: '', met: null });
      const ratio = (value: number, target: number) => ({ value: `${value.toFixed(2)}×`, target: `≥ ${target}×`, met: value >= target });
      const measured = `${status.connections} connections, median of ${status.rounds} × ${status.durationMs / 1000} s`;
      return [
        {
          metric: 'bare route: 200, body of /health/live, no guard call',
          value: `${bare.status}, ${bare.sameBody ? 'same body' : 'OTHER body'}, guard ${bare.bareCalls}× (live ${bare.liveCalls}×)`,
          target: '',
          met: bare.status === 200 && bare.sameBody && bare.bareCalls === 0 && bare.liveCalls === 1,
        },
        { metric: `bare route, ${measured}`, ...rps(status.rps.bare) },
        { metric: 'GET /health/live, same load', ...rps(status.rps.live) },
        { metric: 'GET batch-status (seed), same load', ...rps(status.rps.seed) },
        { metric: 'GET batch-status (v2, fresh nonce each), same load', ...rps(status.rps.v2) },
        { metric: 'batch-status (seed) / health/live', ...ratio(status.ratios.seedToLive, 0.8) },
        { metric: 'batch-status (v2) / health/live', ...ratio(status.ratios.v2ToLive, 0.8) },
        { metric: 'health/live / bare route', ...ratio(status.ratios.liveToBare, 0.9) },
      ];
    });

    await step(rows, '(1) create a 50,000-lot job', async () => {
      const figures = await benchCreate(env, api, request);
      jobIds = figures.jobIds;
      const ratio = figures.appMs / figures.baselineMs;
      return [
        { metric: 'POST → 201, 50,000 lots (median of 3)', value: seconds(figures.appMs), target: '', met: null },
        { metric: 'baseline: JSON.parse + bulk INSERT', value: seconds(figures.baselineMs), target: '', met: null },
        { metric: 'ratio POST / baseline', value: `${ratio.toFixed(2)}×`, target: '≤ 3×', met: ratio <= 3 },
        { metric: 'peak RSS during POST (whole process)', value: megabytes(figures.peakRss), target: '< 1 GB', met: figures.peakRss < GB },
      ];
    });

    await step(rows, '(5) streamed download', async () => {
      await completeWithResults(env, jobIds[1]);
      const download = await benchDownload(api, load, jobIds[1]);
      return [
        {
          metric: `download 50,000 lots × 3 languages (${megabytes(download.bytes)})`,
          value: seconds(download.elapsedMs),
          target: '',
          met: null,
        },
        {
          metric: 'RSS growth during the download',
          value: megabytes(download.growth),
          target: '< 100 MB',
          met: download.growth < 100 * MB,
        },
      ];
    });

    await step(rows, '(3) ingestion of a 50,000-line output file', async () => {
      const ingestion = await benchIngestion(env, api, jobIds[2]);
      return [
        {
          metric: `ingest ${ingestion.lines.toLocaleString('en-US')} output lines`,
          value: seconds(ingestion.elapsedMs),
          target: '< 20 s',
          met: ingestion.elapsedMs < 20_000,
        },
        {
          metric: 'peak RSS during ingestion (whole process)',
          value: megabytes(ingestion.peakRss),
          target: '< 500 MB',
          met: ingestion.peakRss < 500 * MB,
        },
      ];
    });
    // After the steps with RSS targets: three 50,000-lot bodies leave the heap large, and RSS does not shrink back.
    /** Peak RSS and the worst /health/live while one hostile or heavy load ran (steps 6 and 7). */
    const impactRows = (
      impact: { peakRss: number; probes: number; failedProbes: number; worstLiveMs: number },
      liveTarget?: number,
    ): Row[] => [
      {
        metric: '  peak RSS meanwhile (whole process)',
        value: megabytes(impact.peakRss),
        target: '< 1.5 GB',
        met: impact.peakRss < 1.5 * GB,
      },
      {
        metric: `  worst GET /health/live meanwhile (${impact.probes} probes, ${impact.failedProbes} failed)`,
        value: seconds(impact.worstLiveMs),
        target: liveTarget === undefined ? '' : `< ${liveTarget / 1000} s`,
        met: liveTarget === undefined ? null : impact.worstLiveMs < liveTarget && impact.failedProbes === 0,
      },
    ];

    await step(rows, '(6) decompression bomb and 100 MB of tiny values, unauthenticated', async () => {
      const bomb = await benchBombs(api);
      return [
        {
          metric: `gzip bomb: ${(bomb.gzipBytes / 1024).toFixed(0)} KB inflating to 100 MB of [] values`,
          value: String(bomb.compressed.result),
          target: '413',
          met: bomb.compressed.result === 413,
        },
        ...impactRows(bomb.compressed, 1500),
        {
          metric: 'the same 100 MB uncompressed',
          value: String(bomb.uncompressed.result),
          target: '413',
          met: bomb.uncompressed.result === 413,
        },
        ...impactRows(bomb.uncompressed, 1500),
      ];
    });

    await step(rows, '(7) three concurrent 50,000-lot POSTs', async () => {
      const polledJobId = await postBatch(api, buildRequest(env.imageBase, 2));
      const creates = await benchConcurrentCreates(api, request, load, polledJobId);
      const latency = (figures: typeof creates.idle) => `${figures.p50Ms.toFixed(1)} / ${figures.p99Ms.toFixed(1)} ms`;
      const polls = (figures: typeof creates.idle) =>
        `${figures.requests.toLocaleString('en-US')} polls${figures.failed ? `, ${figures.failed} failed` : ''}`;
      return [
        {
          metric: 'three 50,000-lot POSTs at once',
          value: creates.result.join(', '),
          target: '201 × 3',
          met: creates.result.every((status) => status === 201),
        },
        ...impactRows(creates),
        {
          metric: `  batch-status p50 / p99, ${creates.connections} connections, idle (${polls(creates.idle)})`,
          value: latency(creates.idle),
          target: '',
          met: null,
        },
        {
          metric: `  same, during the POSTs (${seconds(creates.during.elapsedMs)}, ${polls(creates.during)})`,
          value: latency(creates.during),
          target: 'p99 < 100 ms',
          met: creates.during.p99Ms < 100 && creates.during.failed === 0,
        },
      ];
    });

    await api.close();

    await step(rows, '(2) end to end on the emulator (APP_ROLE=all)', async () => {
      const e2e = await benchEndToEnd(env, request.lotCount);
      if ('skipped' in e2e) return [{ metric: 'end to end, 50,000 lots', value: `skipped: ${e2e.skipped}`, target: '< 5 min', met: null }];
      const value = `${seconds(e2e.elapsedMs)} (${e2e.status}; ${e2e.processed} processed, ${e2e.failed} failed)`;
      const share = (ms: number) => ({ value: `${seconds(ms)} (${((ms / e2e.elapsedMs) * 100).toFixed(0)} %)`, target: '', met: null });
      return [
        {
          metric: 'end to end, 50,000 lots',
          value: e2e.finished ? value : `not finished: ${value}`,
          target: '< 5 min',
          met: e2e.finished && e2e.status === 'completed' && e2e.elapsedMs < 300_000,
        },
        { metric: '  service event loop busy', ...share(e2e.serviceBusyMs) },
        { metric: '  emulator + image host busy (own thread)', ...share(e2e.outsideBusyMs) },
        { metric: '  rest (PostgreSQL, poll intervals)', ...share(e2e.elapsedMs - e2e.serviceBusyMs - e2e.outsideBusyMs) },
      ];
    });
  } finally {
    await load.close();
    await env.close();
  }
  console.log('');
  printTable(rows);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
