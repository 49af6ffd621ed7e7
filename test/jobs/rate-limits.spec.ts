import { parseList } from 'structured-headers';
import { DatabaseOutageMonitor } from '../../src/database/database-outage.js';
import { freePort } from '../../src/database/embedded-postgres.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { RateLimitPolicy } from '../../src/jobs/rate-limit/rate-limit-policy.js';
import { SharedRateLimiter } from '../../src/jobs/rate-limit/shared-rate-limiter.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { ManualClock } from '../support/manual-clock.js';
import { body, countRows, lot, lots } from './jobs-support.js';

/*
 * Per-client budgets of reference 002 (sync, batch creation, polling), with
 * small configured limits, counted in PostgreSQL for every replica together.
 */

const WINDOW_SECONDS = 60;
const ENV = {
  APP_ROLE: 'api',
  RATE_LIMIT_SYNC: '1',
  RATE_LIMIT_BATCH: '2',
  RATE_LIMIT_POLLING: '3',
  RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS),
};
/**
 * The windows' time, shared by both replicas: the tests move it to a new
 * window instead of waiting for one. It starts on a window boundary and
 * stands still inside a window, so every reset is exactly WINDOW_SECONDS away.
 */
const clock = new ManualClock();
let t: TestApp;
/** A second API replica on the same database. */
let replica: TestApp;
beforeAll(async () => {
  t = await startTestApp({ clock, env: ENV });
  replica = await startTestApp({ clock, env: ENV, db: t.db });
});
afterAll(async () => {
  await replica.close();
  await t.close();
});

/** The RateLimit-Policy and RateLimit fields, parsed as structured-field lists (which also proves their syntax). */
function rateHeaders(res: Response): { policy: [string, number, number]; limit: [string, number, number] } {
  const one = (name: string, a: string, b: string): [string, number, number] => {
    const value = res.headers.get(name);
    if (value === null) throw new Error(`no ${name} on a ${res.status}`);
    const list = parseList(value);
    expect(list).toHaveLength(1);
    const [name0, params] = list[0] as [unknown, Map<string, unknown>];
    expect(typeof name0).toBe('string');
    return [name0 as string, params.get(a) as number, params.get(b) as number];
  };
  return { policy: one('ratelimit-policy', 'q', 'w'), limit: one('ratelimit', 'r', 't') };
}

function expectHeaders(res: Response, scope: string, limit: number, remaining: number): void {
  expect(rateHeaders(res)).toEqual({ policy: [scope, limit, WINDOW_SECONDS], limit: [scope, remaining, WINDOW_SECONDS] });
}

function expect429(res: Response, json: Record<string, unknown>, scope: string, limit: number) {
  expect(res.status).toBe(429);
  // The clock stands at the start of a window: the budget is whole again in exactly one window.
  expect(res.headers.get('retry-after')).toBe(String(WINDOW_SECONDS));
  expectHeaders(res, scope, limit, 0);
  expect(json).toEqual({
    error: 'Too many requests',
    message: `Rate limit exceeded: at most ${limit} ${scope} requests per ${WINDOW_SECONDS} seconds`,
    code: 'RATE_LIMIT_EXCEEDED',
    details: { scope, limit, window_seconds: WINDOW_SECONDS, retry_after: WINDOW_SECONDS },
  });
}

/** Moves the clock into the next window. */
function nextWindow(): void {
  clock.advance(WINDOW_SECONDS * 1000);
}

const jobId = '00000000-0000-4000-8000-000000000000';
const listJobs = (app: TestApp) => app.fetch('/api/v1/batch-jobs', { signWith: '' });

test('batch creation, sync and polling have separate budgets; every answer carries RateLimit headers; 429 carries Retry-After; nothing is stored', async () => {
  const post = (count: number) => t.postLots({ languages: ['en'], lots: lots(count, `b${Date.now()}`) });
  const first = await post(2);
  expect(first.status).toBe(201);
  expectHeaders(first, 'batch', 2, 1);
  const second = await post(3);
  expect(second.status).toBe(201);
  expectHeaders(second, 'batch', 2, 0);
  const refused = await post(2);
  expect429(refused, await body(refused), 'batch', 2);
  expect(await countRows(t.db)).toEqual({ jobs: 2, lots: 5 });

  // The sync budget is its own: one synchronous request gets through (to validation, whose 422 has the headers too), the second is refused.
  const tooManyImages = {
    languages: ['en'],
    lots: [lot('s', { images: Array.from({ length: 21 }, (_, i) => ({ url: `https://a.b/${i}.jpg` })) })],
  };
  const invalid = await t.postLots(tooManyImages);
  expect(invalid.status).toBe(422);
  expectHeaders(invalid, 'sync', 1, 0);
  const syncRefused = await t.postLots(tooManyImages);
  expect429(syncRefused, await body(syncRefused), 'sync', 1);

  // Polling: one budget shared by every polling route.
  const status = await t.getJob(`/api/v1/batch-status/${jobId}`, jobId);
  expect(status.status).toBe(404);
  expectHeaders(status, 'polling', 3, 2);
  const alias = await t.getJob(`/api/v1/jobs/${jobId}`, jobId);
  expect(alias.status).toBe(404);
  expectHeaders(alias, 'polling', 3, 1);
  const list = await listJobs(t);
  expect(list.status).toBe(200);
  expectHeaders(list, 'polling', 3, 0);
  const pollRefused = await t.fetch(`/api/v1/batch-jobs/${jobId}/cancel`, { method: 'POST', signWith: jobId });
  expect429(pollRefused, await body(pollRefused), 'polling', 3);

  // A new window restores the budget.
  nextWindow();
  const again = await post(2);
  expect(again.status).toBe(201);
  expectHeaders(again, 'batch', 2, 1);
});

test('unauthenticated requests do not consume the client budget', async () => {
  nextWindow(); // the first test spent the polling budget
  expectHeaders(await listJobs(t), 'polling', 3, 2);
  for (let i = 0; i < 10; i++) {
    const unsigned = await t.fetch('/api/v1/batch-jobs');
    expect(unsigned.status).toBe(401);
    expect(unsigned.headers.get('ratelimit')).toBeNull();
  }
  for (let i = 0; i < 5; i++) expect((await t.fetch('/api/v1/batch-jobs', { headers: { 'X-Signature': 'sha256=00' } })).status).toBe(403);
  expectHeaders(await listJobs(t), 'polling', 3, 1);
  expectHeaders(await listJobs(t), 'polling', 3, 0);
});

test('two replicas on one database share one budget: concurrent requests across both get exactly the limit', async () => {
  nextWindow();
  const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => listJobs(i % 2 === 0 ? t : replica)));
  const statuses = answers.map((res) => res.status);
  expect(statuses.filter((s) => s === 200)).toHaveLength(3);
  expect(statuses.filter((s) => s === 429)).toHaveLength(9);
  // The allowed ones counted down 2, 1, 0 between them, whichever replica answered.
  const remaining = answers.filter((res) => res.status === 200).map((res) => rateHeaders(res).limit[1]);
  expect(remaining.sort()).toEqual([0, 1, 2]);
  for (const res of answers.filter((r) => r.status === 429)) expect(res.headers.get('retry-after')).toBe(String(WINDOW_SECONDS));

  // Each replica now refuses the spent budget from memory: without the store's rows (deleted here) it still refuses.
  await t.db.query('DELETE FROM client_rate_limits');
  expect((await listJobs(replica)).status).toBe(429);
  expect((await listJobs(t)).status).toBe(429);
  // A new window opens for both.
  nextWindow();
  expectHeaders(await listJobs(replica), 'polling', 3, 2);
  expectHeaders(await listJobs(t), 'polling', 3, 1);
});

test('a per-client override replaces the default budget of its scope only', () => {
  const policy = t.app.get(RateLimitPolicy);
  const client = { id: 'tenant-a', rateLimits: { polling: 7, sync: 0 } };
  expect(policy.limitFor(client, 'polling')).toBe(7);
  expect(policy.limitFor(client, 'sync')).toBe(0);
  expect(policy.limitFor(client, 'batch')).toBe(2); // not overridden: RATE_LIMIT_BATCH
  expect(policy.limitFor({ id: 'default' }, 'polling')).toBe(3);
  expect(policy.limitFor({ id: 'odd', rateLimits: { polling: 2.5, batch: -1 } }, 'polling')).toBe(3);
  expect(policy.limitFor({ id: 'odd', rateLimits: { polling: 2.5, batch: -1 } }, 'batch')).toBe(2);
});

test('budgets are per client and per limit: an override counts in the shared store, another client is unaffected', async () => {
  const limiter = t.app.get(SharedRateLimiter);
  const windowMs = WINDOW_SECONDS * 1000;
  nextWindow();
  const a = async () => (await limiter.consume('polling', 'tenant-a', 5, windowMs)).allowed;
  const results = [];
  for (let i = 0; i < 7; i++) results.push(await a());
  expect(results).toEqual([true, true, true, true, true, false, false]);
  // The other replica's limiter sees the same count.
  expect((await replica.app.get(SharedRateLimiter).consume('polling', 'tenant-a', 5, windowMs)).allowed).toBe(false);
  expect(await limiter.consume('polling', 'tenant-b', 5, windowMs)).toEqual({ allowed: true, limit: 5, remaining: 4, resetMs: windowMs });
  // A limit of 0 refuses without counting.
  expect((await limiter.consume('sync', 'tenant-c', 0, windowMs)).allowed).toBe(false);
  expect((await limiter.consume('sync', 'tenant-c', 1, windowMs)).allowed).toBe(true);
});

test('with the database unreachable the limits hold per process (insurance limiter) instead of failing requests', async () => {
  const url = `postgres://gs:gs@127.0.0.1:${await freePort()}/nothing`; // nothing listens there
  const outage = new DatabaseOutageMonitor({ url, logger: { log: () => undefined, warn: () => undefined, error: () => undefined } });
  const limiter = new SharedRateLimiter({ database: { url } } as AppConfig, clock, outage);
  try {
    const windowMs = WINDOW_SECONDS * 1000;
    const consume = () => limiter.consume('polling', 'tenant-x', 2, windowMs);
    expect(await consume()).toMatchObject({ allowed: true, remaining: 1 });
    // Once the outage is known the store is not even tried.
    outage.failed(new Error('connect ECONNREFUSED'));
    expect(await consume()).toMatchObject({ allowed: true, remaining: 0 });
    expect(await consume()).toMatchObject({ allowed: false, remaining: 0 });
  } finally {
    outage.close();
    await limiter.onApplicationShutdown();
  }
});
