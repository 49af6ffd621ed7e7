import { startTestApp, type TestApp } from '../support/app.js';
import { ManualClock } from '../support/manual-clock.js';
import { body, countRows, lot, lots } from './jobs-support.js';

/* Per-client budgets of reference 002 (sync, batch creation, polling), with small configured limits. */

const WINDOW_SECONDS = 3;
/** The windows' time: the tests move it to a new window instead of waiting for one. */
const clock = new ManualClock();
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    clock,
    env: {
      APP_ROLE: 'api',
      RATE_LIMIT_SYNC: '1',
      RATE_LIMIT_BATCH: '2',
      RATE_LIMIT_POLLING: '3',
      RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS),
    },
  });
});
afterAll(() => t.close());

function expect429(res: Response, json: Record<string, unknown>, scope: string, limit: number) {
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
  expect(json).toEqual({
    error: 'Too many requests',
    message: `Rate limit exceeded: at most ${limit} ${scope} requests per ${WINDOW_SECONDS} seconds`,
    code: 'RATE_LIMIT_EXCEEDED',
    details: { scope, limit, window_seconds: WINDOW_SECONDS, retry_after: retryAfter },
  });
}

/** Moves the clock into the next window. */
function nextWindow(): void {
  clock.advance(WINDOW_SECONDS * 1000);
}

test('batch creation, sync and polling have separate budgets; 429 carries Retry-After; nothing is stored', async () => {
  const post = (count: number) => t.postLots({ languages: ['en'], lots: lots(count, `b${Date.now()}`) });
  expect((await post(2)).status).toBe(201);
  expect((await post(3)).status).toBe(201);
  const refused = await post(2);
  expect429(refused, await body(refused), 'batch', 2);
  expect(await countRows(t.db)).toEqual({ jobs: 2, lots: 5 });

  // The sync budget is its own: one synchronous request gets through (to validation), the second is refused.
  const tooManyImages = {
    languages: ['en'],
    lots: [lot('s', { images: Array.from({ length: 21 }, (_, i) => ({ url: `https://a.b/${i}.jpg` })) })],
  };
  expect((await t.postLots(tooManyImages)).status).toBe(422);
  const syncRefused = await t.postLots(tooManyImages);
  expect429(syncRefused, await body(syncRefused), 'sync', 1);

  // Polling: one budget shared by every polling route.
  const jobId = '00000000-0000-4000-8000-000000000000';
  expect((await t.getJob(`/api/v1/batch-status/${jobId}`, jobId)).status).toBe(404);
  expect((await t.getJob(`/api/v1/jobs/${jobId}`, jobId)).status).toBe(404);
  expect((await t.fetch('/api/v1/batch-jobs', { signWith: '' })).status).toBe(200);
  const pollRefused = await t.fetch(`/api/v1/batch-jobs/${jobId}/cancel`, { method: 'POST', signWith: jobId });
  expect429(pollRefused, await body(pollRefused), 'polling', 3);

  // A new window restores the budget.
  nextWindow();
  expect((await post(2)).status).toBe(201);
});

test('unauthenticated requests do not consume the client budget', async () => {
  const listJobs = () => t.fetch('/api/v1/batch-jobs', { signWith: '' });
  nextWindow(); // the first test spent the polling budget
  expect((await listJobs()).status).toBe(200);
  for (let i = 0; i < 10; i++) expect((await t.fetch('/api/v1/batch-jobs')).status).toBe(401);
  expect((await listJobs()).status).toBe(200);
  expect((await listJobs()).status).toBe(200);
});
