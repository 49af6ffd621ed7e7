import { WebhookSenderService } from '../../src/webhooks/webhook-sender.service.js';
import { startTestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startLoopbackServer, type LoopbackServer } from '../common/loopback-server.js';
import { allSettled, attemptKeys, deliveries, driveUntil, finishedJobWithWebhooks, header } from './webhook-support.js';

/*
 * Deliveries live in PostgreSQL, not in a process: a restart resumes them, and
 * several workers on one database send each attempt exactly once.
 */

const ENV = { WEBHOOK_RETRY_BASE: '0.05', WEBHOOK_TIMEOUT: '3', WORKER_POLL_INTERVAL: '3600', OPENAI_MAX_RETRIES: '0' };

let db: TestDatabase;
let receiver: LoopbackServer;
/** Answers per webhook-id: 500 for the first `failFirst` requests, then 200 (after `delayMs`). */
const behaviour = { failFirst: 0, delayMs: 0 };
const seen = new Map<string, number>();

beforeAll(async () => {
  db = await createTestDatabase();
  receiver = await startLoopbackServer((req, res) => {
    const id = header(req.headers, 'webhook-id');
    const count = (seen.get(id) ?? 0) + 1;
    seen.set(id, count);
    setTimeout(() => res.writeHead(count <= behaviour.failFirst ? 500 : 200).end(), behaviour.delayMs);
  });
});
afterAll(async () => {
  await receiver.close();
  await db.drop();
});
beforeEach(() => {
  behaviour.failFirst = 0;
  behaviour.delayMs = 0;
});

const attemptRows = (jobId: string) =>
  db.query<{ attempt: number; outcome: string; worker_id: string; error_message: string | null }>(
    `SELECT a.attempt, a.outcome, a.worker_id, a.error_message FROM webhook_delivery_attempts a
       JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.batch_job_id = $1 ORDER BY d.webhook_url, a.attempt`,
    [jobId],
  );

test('a restart in the middle of the retry schedule loses nothing', async () => {
  behaviour.failFirst = 1;
  const first = await startTestApp({ db, env: { ...ENV, WEBHOOK_RETRY_BASE: '0.5' } });
  const jobId = await finishedJobWithWebhooks(first, {
    lots: [
      { lotId: 'r1', webhook: `${receiver.url}/restart` },
      { lotId: 'r2', webhook: `${receiver.url}/restart` },
    ],
  });
  await driveUntil([first], async () => (await deliveries(db, jobId))[0].attempt_count === 1);
  const [afterFirst] = await deliveries(db, jobId);
  expect(afterFirst).toMatchObject({ status: 'pending', response_status: 500 });
  await first.close(); // the process goes away with attempt 2 still scheduled

  const second = await startTestApp({ db, env: ENV });
  try {
    await driveUntil([second], allSettled(db, jobId));
  } finally {
    await second.close();
  }
  const [row] = await deliveries(db, jobId);
  expect(row).toMatchObject({ status: 'delivered', attempt_count: 2, response_status: 200 });
  const requests = receiver.to('/restart');
  expect(attemptKeys(requests)).toEqual([`${row.id}#1`, `${row.id}#2`]);
  expect(requests[1].body.equals(requests[0].body)).toBe(true);
  expect(requests[1].at - requests[0].at).toBeGreaterThanOrEqual(500); // the schedule survived the restart
});

test('two workers on one database send every attempt exactly once', async () => {
  behaviour.failFirst = 2;
  behaviour.delayMs = 15; // keep attempts in flight while the other worker claims
  const [a, b] = await Promise.all([startTestApp({ db, env: ENV }), startTestApp({ db, env: ENV })]);
  try {
    const urls = Array.from({ length: 12 }, (_, i) => `${receiver.url}/pair/${i}`);
    const jobId = await finishedJobWithWebhooks(a, { lots: urls.map((webhook, i) => ({ lotId: `p${i}`, webhook })) });
    const [senderA, senderB] = [a, b].map((app) => app.app.get(WebhookSenderService));
    // Four claimers at once (two per process) on every round.
    await driveUntil([a, b], async () => {
      await Promise.all([senderA.deliverDue(), senderB.deliverDue()]);
      return allSettled(db, jobId)();
    });

    const rows = await deliveries(db, jobId);
    expect(rows.every((row) => row.status === 'delivered' && row.attempt_count === 3)).toBe(true);
    const keys = attemptKeys(receiver.requests.filter((r) => r.path.startsWith('/pair/')));
    expect(keys).toHaveLength(36);
    expect(new Set(keys).size).toBe(36);
    expect([...keys].sort()).toEqual(rows.flatMap((row) => [1, 2, 3].map((n) => `${row.id}#${n}`)).sort());
    const attempts = await attemptRows(jobId);
    expect(attempts).toHaveLength(36);
    expect(attempts.filter((attempt) => attempt.outcome === 'lost')).toEqual([]);
    expect(new Set(attempts.map((attempt) => attempt.worker_id))).toEqual(new Set([a.config.instanceId, b.config.instanceId]));
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('an attempt in flight is leased past the HTTP timeout: another worker does not take it', async () => {
  behaviour.delayMs = 400;
  const [a, b] = await Promise.all([startTestApp({ db, env: ENV }), startTestApp({ db, env: ENV })]);
  try {
    const jobId = await finishedJobWithWebhooks(a, { lots: [{ lotId: 'l1', webhook: `${receiver.url}/leased` }] });
    const sending = a.app.get(WebhookSenderService).deliverDue();
    await driveUntil([], async () => (await attemptRows(jobId)).some((row) => row.outcome === 'in_flight'), 5_000);
    const [inFlight] = await deliveries(db, jobId);
    expect(inFlight.next_attempt_at!.getTime() - Date.now()).toBeGreaterThan(3_000); // WEBHOOK_TIMEOUT + margin
    expect(await b.app.get(WebhookSenderService).deliverDue()).toBe(0);
    expect(await sending).toBe(1);
    expect((await deliveries(db, jobId))[0]).toMatchObject({ status: 'delivered', attempt_count: 1 });
    expect(receiver.to('/leased')).toHaveLength(1);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('a worker that died mid-send: once its lease ends the attempt is marked lost and made again', async () => {
  const app = await startTestApp({ db, env: ENV });
  try {
    const jobId = await finishedJobWithWebhooks(app, { lots: [{ lotId: 'c1', webhook: `${receiver.url}/crashed` }] });
    const [row] = await deliveries(db, jobId);
    // What a worker leaves behind when it is killed after claiming attempt 1: the claim, no outcome, an expired lease.
    await db.query(
      `UPDATE webhook_deliveries SET attempt_count = 1, last_attempt_at = now() - interval '2 minutes',
         next_attempt_at = now() - interval '1 second' WHERE id = $1`,
      [row.id],
    );
    await db.query(
      `INSERT INTO webhook_delivery_attempts (delivery_id, attempt, outcome, worker_id, started_at)
       VALUES ($1, 1, 'in_flight', 'killed-worker', now() - interval '2 minutes')`,
      [row.id],
    );
    await driveUntil([app], allSettled(db, jobId));
    expect(attemptKeys(receiver.to('/crashed'))).toEqual([`${row.id}#2`]);
    expect((await deliveries(db, jobId))[0]).toMatchObject({ status: 'delivered', attempt_count: 2 });
    const attempts = await attemptRows(jobId);
    expect(attempts.map((attempt) => [attempt.attempt, attempt.outcome])).toEqual([
      [1, 'lost'],
      [2, 'delivered'],
    ]);
    expect(attempts[0].error_message).toContain('No outcome recorded');
  } finally {
    await app.close();
  }
});
