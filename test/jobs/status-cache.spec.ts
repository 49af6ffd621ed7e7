import { jest } from '@jest/globals';
import pg from 'pg';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Transform } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { DEFAULT_CLIENT_ID } from '../../src/auth/api-client.js';
import { MetricsRegistry } from '../../src/common/metrics/metrics-registry.module.js';
import { JobQueriesService } from '../../src/jobs/job-queries.service.js';
import { JOB_ROW_COLUMNS, JobRepository } from '../../src/jobs/job.repository.js';
import { JobStatusCache } from '../../src/jobs/status-cache/job-status-cache.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { ManualClock } from '../support/manual-clock.js';
import { waitFor } from '../support/wait.js';
import { body, createBatch, insertForeignJob, statusSynced } from './jobs-support.js';

/*
 * The status cache of issue 15 against a real PostgreSQL: served from memory
 * between a job's changes, dropped by the change notifications of migration
 * 1763791100000 whoever makes the change, off while its listener is not
 * connected. The repository's one-round-trip read is spied on (and still runs)
 * to count what reached the database.
 */

const CACHE_MS = 5_000;
const LISTENER = 'generation-service:status-cache';

let t: TestApp;
let clock: ManualClock;
let cache: JobStatusCache;
let queries: JobQueriesService;
let repository: JobRepository;
let reads: jest.SpiedFunction<JobRepository['findJobWithUsage']>;

beforeAll(async () => {
  clock = new ManualClock(Date.now());
  t = await startTestApp({ env: { APP_ROLE: 'api', STATUS_CACHE_MS: String(CACHE_MS), RATE_LIMIT_POLLING: '100000' }, clock });
  cache = t.app.get(JobStatusCache);
  queries = t.app.get(JobQueriesService);
  repository = t.app.get(JobRepository);
  reads = jest.spyOn(repository, 'findJobWithUsage');
});
afterEach(() => reads.mockClear());
afterAll(() => t.close());

const status = (jobId: string) => t.getJob(`/api/v1/batch-status/${jobId}`, jobId);

async function lookups(result: 'hit' | 'miss' | 'off'): Promise<number> {
  const text = await (await t.manage('/metrics')).text();
  const value = new RegExp(`^gs_status_cache_lookups_total\\{[^}]*result="${result}"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1];
  return Number(value ?? 0);
}

describe('served from memory between changes', () => {
  test('repeated polls of a job: one database read, the rest from memory (hits on /metrics)', async () => {
    const jobId = await createBatch(t, 2);
    const hitsBefore = await lookups('hit');
    const answers: unknown[] = [];
    for (let i = 0; i < 5; i++) answers.push(await body(await status(jobId)));
    expect(answers.every((answer) => JSON.stringify(answer) === JSON.stringify(answers[0]))).toBe(true);
    expect(answers[0]).toMatchObject({ job_id: jobId, status: 'pending', progress: { total_lots: 2 } });
    expect(reads).toHaveBeenCalledTimes(1);
    expect((await lookups('hit')) - hitsBefore).toBe(4);
    // An upper-case spelling of the id is the same entry (notifications carry the lower-case one).
    const upper = jobId.toUpperCase();
    expect((await t.getJob(`/api/v1/batch-status/${upper}`, upper)).status).toBe(200);
    expect(reads).toHaveBeenCalledTimes(1);
  });

  test('a change committed by another connection shows in the next answer after the barrier', async () => {
    const jobId = await createBatch(t, 3);
    await status(jobId);
    await status(jobId);
    expect(reads).toHaveBeenCalledTimes(1);

    await t.db.query(`UPDATE batch_jobs SET status = 'processing', processed_lots = 2, current_stage = 'vision_batch' WHERE id = $1`, [
      jobId,
    ]);
    await statusSynced(t);
    expect(await body(await status(jobId))).toMatchObject({ status: 'processing', progress: { processed_lots: 2 } });
    expect(reads).toHaveBeenCalledTimes(2);

    // Usage totals (another table) are part of the answer too.
    await t.db.query(
      `INSERT INTO openai_usage_totals (batch_job_id, stage, mode, model, input_tokens, cached_tokens, output_tokens, reasoning_tokens, calls)
       VALUES ($1, 'vision', 'batch', 'gpt-4.1-mini', 1000, 0, 200, 0, 2)`,
      [jobId],
    );
    await statusSynced(t);
    const withUsage = await body(await status(jobId));
    expect(withUsage.usage).toMatchObject({ input_tokens: 1000, output_tokens: 200, by_stage: [{ stage: 'vision', requests: 2 }] });
    expect(withUsage.cost.total_usd).toBeGreaterThan(0);

    // Pause (a column shown as the status) and deletion.
    await t.db.query(`UPDATE batch_jobs SET paused = true WHERE id = $1`, [jobId]);
    await statusSynced(t);
    expect((await body(await status(jobId))).status).toBe('paused');
    await t.db.query(`DELETE FROM batch_jobs WHERE id = $1`, [jobId]);
    await statusSynced(t);
    expect((await status(jobId)).status).toBe(404);
    expect((await status(jobId)).status).toBe(404); // a 404 is not cached: both reached the database
    expect(reads).toHaveBeenCalledTimes(6);
  });

  test('a change of nothing the answer shows (claims, next check) keeps the entry; TRUNCATE drops everything', async () => {
    const jobId = await createBatch(t, 2);
    await status(jobId);
    await t.db.query(`UPDATE batch_jobs SET next_check_at = now() + interval '1 hour', claim_token = NULL WHERE id = $1`, [jobId]);
    await statusSynced(t);
    await status(jobId);
    expect(reads).toHaveBeenCalledTimes(1);

    await t.db.query(`TRUNCATE openai_usage_totals`);
    await statusSynced(t);
    await status(jobId);
    expect(reads).toHaveBeenCalledTimes(2);
  });

  test('the trigger watches every column the status is read from', async () => {
    const [trigger] = await t.db.query<{ definition: string }>(
      `SELECT pg_get_triggerdef(oid) AS definition FROM pg_trigger WHERE tgname = 'batch_jobs_status_changed'`,
    );
    const unwatched = JOB_ROW_COLUMNS.filter((column) => !new RegExp(`\\bold\\.${column}\\b`, 'i').test(trigger.definition));
    expect(unwatched).toEqual([]);
  });

  test('another client’s job is 404 from memory exactly as from the database', async () => {
    const jobId = await createBatch(t, 2);
    await status(jobId); // cached for its owner
    // Answered synchronously from memory (a throw), asynchronously from the database (a rejection): caught alike.
    const attempt = () =>
      Promise.resolve()
        .then(() => queries.status('other-client', jobId))
        .catch((error: unknown) => error);
    const fromMemory = (await attempt()) as {
      getStatus(): number;
      getResponse(): unknown;
    };
    expect(reads).toHaveBeenCalledTimes(1);
    cache.invalidate(jobId);
    const fromDatabase = (await attempt()) as typeof fromMemory;
    expect(reads).toHaveBeenCalledTimes(2);
    expect(fromMemory.getStatus()).toBe(404);
    expect(fromMemory.getResponse()).toEqual(fromDatabase.getResponse());
    expect(fromMemory.getResponse()).toEqual({ error: 'Job not found', message: `Job ${jobId} not found`, code: 'JOB_NOT_FOUND' });

    // And a job of another client is never served to the default one, cached or not.
    const foreign = await insertForeignJob(t.db);
    await queries.status('other-client', foreign);
    expect((await status(foreign)).status).toBe(404);
  });

  test('a read that began before an invalidation does not store what it read', async () => {
    const jobId = await createBatch(t, 2);
    const original = JobRepository.prototype.findJobWithUsage.bind(repository);
    let readDone!: () => void;
    let release!: () => void;
    const read = new Promise<void>((resolve) => (readDone = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    reads.mockImplementationOnce(async (clientId, id) => {
      const found = await original(clientId, id);
      readDone();
      await gate;
      return found;
    });
    const inFlight = queries.status(DEFAULT_CLIENT_ID, jobId);
    await read; // the read has the job with 0 lots processed, and has not stored it yet
    await t.db.query(`UPDATE batch_jobs SET processed_lots = 2 WHERE id = $1`, [jobId]);
    await statusSynced(t); // the change's notification has been applied
    release();
    expect((await inFlight).progress.processed_lots).toBe(0); // that request answers what it read…
    expect((await body(await status(jobId))).progress.processed_lots).toBe(2); // …but it was not kept
    expect(reads).toHaveBeenCalledTimes(2);
  });

  test('an entry is served for at most STATUS_CACHE_MS', async () => {
    const jobId = await createBatch(t, 2);
    await status(jobId);
    clock.advance(CACHE_MS - 1);
    await status(jobId);
    expect(reads).toHaveBeenCalledTimes(1);
    clock.advance(1);
    await status(jobId);
    expect(reads).toHaveBeenCalledTimes(2);
  });

  test('pause, PATCH and cancel through the API: their answers and the next poll show the change at once', async () => {
    const jobId = await createBatch(t, 2);
    await status(jobId);
    const send = (method: string, path: string, payload?: unknown) =>
      t.fetch(path, {
        method,
        signWith: jobId,
        headers: payload === undefined ? {} : { 'Content-Type': 'application/json' },
        body: payload === undefined ? undefined : JSON.stringify(payload),
      });
    expect(await body(await send('POST', `/api/v1/batch-jobs/${jobId}/pause`))).toMatchObject({ status: 'paused' });
    expect((await body(await status(jobId))).status).toBe('paused');
    expect(await body(await send('PATCH', `/api/v1/batch-jobs/${jobId}`, { name: 'renamed' }))).toMatchObject({ name: 'renamed' });
    expect((await body(await status(jobId))).name).toBe('renamed');
    expect((await send('POST', `/api/v1/batch-jobs/${jobId}/cancel`)).status).toBe(200);
    expect((await body(await status(jobId))).status).toBe('cancelled');
  });
});

describe('the listener', () => {
  test('killed with pg_terminate_backend: every answer reads the database (changes show at once), then memory again once back', async () => {
    const jobId = await createBatch(t, 2);
    await status(jobId);
    expect(cache.active).toBe(true);
    // No new connection to this database meanwhile, so the listener stays away until the test lets it back
    // (the app's pool and the test's keep the connections they hold).
    const admin = new pg.Client({ connectionString: process.env.TEST_PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`ALTER DATABASE ${t.db.name} ALLOW_CONNECTIONS false`);
    try {
      const [terminated] = await t.db.query<{ count: number }>(
        `SELECT count(pg_terminate_backend(pid))::int AS count FROM pg_stat_activity WHERE application_name = $1 AND datname = $2`,
        [LISTENER, t.db.name],
      );
      expect(terminated.count).toBe(1);
      await waitFor(async () => !cache.active, { what: 'the listener to be lost' });
      reads.mockClear();
      const offBefore = await lookups('off');
      await t.db.query(`UPDATE batch_jobs SET processed_lots = 1 WHERE id = $1`, [jobId]);
      expect((await body(await status(jobId))).progress.processed_lots).toBe(1); // no barrier needed: nothing is served from memory
      await t.db.query(`UPDATE batch_jobs SET processed_lots = 2 WHERE id = $1`, [jobId]);
      expect((await body(await status(jobId))).progress.processed_lots).toBe(2);
      expect(reads).toHaveBeenCalledTimes(2);
      expect((await lookups('off')) - offBefore).toBe(2);
    } finally {
      await admin.query(`ALTER DATABASE ${t.db.name} ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    await waitFor(async () => cache.active, { what: 'the listener to be back' });
    reads.mockClear();
    await status(jobId);
    expect((await body(await status(jobId))).progress.processed_lots).toBe(2);
    expect(reads).toHaveBeenCalledTimes(1);
  });
});

/**
 * PostgreSQL's messages to the client with every NotificationResponse (`A`) left out: what a pooler in transaction
 * mode amounts to for a listener (LISTEN accepted, nothing delivered). Every backend message is a type byte and a
 * length that counts itself.
 */
function withoutNotifications(): Transform {
  let pending = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      pending = Buffer.concat([pending, chunk]);
      const kept: Buffer[] = [];
      while (pending.length >= 5 && pending.length >= 1 + pending.readUInt32BE(1)) {
        const size = 1 + pending.readUInt32BE(1);
        if (pending[0] !== 0x41) kept.push(pending.subarray(0, size));
        pending = pending.subarray(size);
      }
      done(null, Buffer.concat(kept));
    },
  });
}

/** A TCP proxy to PostgreSQL that the test can cut: open connections dropped, new ones closed at once. */
async function startCuttableProxy(url: string, { dropNotifications = false } = {}) {
  const target = new URL(url);
  const sockets = new Set<Socket>();
  let down = false;
  let attempts = 0;
  const server: Server = createServer((socket) => {
    attempts++;
    socket.on('error', () => undefined);
    if (down) {
      socket.destroy();
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    upstream.on('error', () => undefined);
    for (const [from, to] of [
      [socket, upstream],
      [upstream, socket],
    ]) {
      sockets.add(from);
      if (dropNotifications && from === upstream) from.pipe(withoutNotifications()).pipe(to);
      else from.pipe(to);
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxied = new URL(url);
  proxied.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: proxied.toString(),
    attempts: () => attempts,
    cut() {
      down = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      down = false;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('JobStatusCache on its own', () => {
  const capture = () => {
    const lines: string[] = [];
    return {
      lines,
      logger: {
        log: (message: string) => lines.push(`log ${message}`),
        warn: (message: string) => lines.push(`warn ${message}`),
        error: (message: string) => lines.push(`error ${message}`),
      },
    };
  };

  test('a lost connection: off, retried with backoff, one line when lost and one when back, everything dropped', async () => {
    const proxy = await startCuttableProxy(t.db.url);
    const { lines, logger } = capture();
    const own = new JobStatusCache(new MetricsRegistry(), clock, { url: proxy.url, maxAgeMs: CACHE_MS }, logger);
    try {
      await own.onApplicationBootstrap();
      expect(own.active).toBe(true);
      expect(own.store(own.begin(), 'job-a', 'c', 'A')).toBe(true);
      expect(own.lookup('job-a')?.view).toBe('A');

      const ticket = own.begin();
      const pending = own.sync();
      proxy.cut();
      await pending; // a barrier waiting when the listener goes resolves (nothing is served meanwhile)
      await waitFor(async () => proxy.attempts() >= 4, { what: 'three failed reconnections' });
      expect(own.active).toBe(false);
      expect(own.lookup('job-a')).toBeUndefined();
      expect(own.begin()).toBeUndefined();
      expect(own.store(ticket, 'job-b', 'c', 'B')).toBe(false);
      await own.sync(); // off: nothing to wait for

      proxy.restore();
      await waitFor(async () => own.active, { what: 'the listener to be back' });
      expect(own.lookup('job-a')).toBeUndefined(); // what was kept before the outage is gone
      expect(own.store(ticket, 'job-b', 'c', 'B')).toBe(false); // and a read begun before it does not store
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^warn status cache off: listener lost \(.+\); every status read goes to the database until it is back$/);
      expect(lines[1]).toMatch(/^log status cache on again: listening after [\d.]+ s$/);
    } finally {
      await own.onApplicationShutdown();
      await proxy.close();
    }
  });

  test('notifications that never arrive (a pooler in transaction mode): the cache stays off, says so once, keeps checking', async () => {
    const proxy = await startCuttableProxy(t.db.url, { dropNotifications: true });
    const { lines, logger } = capture();
    const own = new JobStatusCache(new MetricsRegistry(), clock, { url: proxy.url, maxAgeMs: CACHE_MS, probeTimeoutMs: 300 }, logger);
    try {
      await own.onApplicationBootstrap();
      expect(own.active).toBe(false);
      expect(own.begin()).toBeUndefined();
      expect(own.store(own.begin(), 'job-a', 'c', 'A')).toBe(false);
      await waitFor(async () => proxy.attempts() >= 3, { what: 'two more checks' });
      expect(own.active).toBe(false);
      expect(lines).toEqual([expect.stringMatching(/^warn status cache off: listener lost \(.*a test notification did not come back.*\)/)]);
    } finally {
      await own.onApplicationShutdown();
      await proxy.close();
    }
  });

  test('at most maxEntries: the oldest stored goes first', async () => {
    const own = new JobStatusCache(new MetricsRegistry(), clock, { url: t.db.url, maxAgeMs: CACHE_MS, maxEntries: 2 });
    try {
      await own.onApplicationBootstrap();
      for (const id of ['a', 'b', 'c']) own.store(own.begin(), id, 'client', id.toUpperCase());
      expect([own.lookup('a'), own.lookup('b')?.view, own.lookup('c')?.view]).toEqual([undefined, 'B', 'C']);
      own.store(own.begin(), 'b', 'client', 'B2'); // stored again: now the newest
      own.store(own.begin(), 'd', 'client', 'D');
      expect([own.lookup('b')?.view, own.lookup('c'), own.lookup('d')?.view]).toEqual(['B2', undefined, 'D']);
      expect(own.size).toBe(2);
    } finally {
      await own.onApplicationShutdown();
    }
  });

  test('STATUS_CACHE_MS=0: never listens, never stores', async () => {
    const own = new JobStatusCache(new MetricsRegistry(), clock, { url: t.db.url, maxAgeMs: 0 });
    await own.onApplicationBootstrap();
    expect([own.enabled, own.active, own.begin()]).toEqual([false, false, undefined]);
    expect(own.store(0, 'a', 'client', 'A')).toBe(false);
    await own.sync();
    await own.onApplicationShutdown();
  });

  test('shutdown closes the listener, also while it is reconnecting', async () => {
    const listeners = async () =>
      (
        await t.db.query<{ count: number }>(
          `SELECT count(*)::int AS count FROM pg_stat_activity WHERE application_name = $1 AND datname = $2`,
          [LISTENER, t.db.name],
        )
      )[0].count;
    const own = new JobStatusCache(new MetricsRegistry(), clock, { url: t.db.url, maxAgeMs: CACHE_MS });
    await own.onApplicationBootstrap();
    await waitFor(async () => (await listeners()) === 2, { what: 'the app’s listener and this one' });
    await own.onApplicationShutdown();
    expect(own.active).toBe(false);
    await waitFor(async () => (await listeners()) === 1, { what: 'this listener to be gone' });

    const proxy = await startCuttableProxy(t.db.url);
    const { lines, logger } = capture();
    const cut = new JobStatusCache(new MetricsRegistry(), clock, { url: proxy.url, maxAgeMs: CACHE_MS }, logger);
    try {
      await cut.onApplicationBootstrap();
      proxy.cut();
      await waitFor(async () => proxy.attempts() >= 2, { what: 'a failed reconnection' });
      await cut.onApplicationShutdown(); // in the backoff: returns at once, without an error
      expect(cut.active).toBe(false);
      await cut.sync();
      expect(lines.filter((line) => line.startsWith('error'))).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});
