import { spawnSync } from 'node:child_process';
import { WEBHOOK_TASK_NAME } from '../../src/webhooks/webhook-sender.service.js';
import { WebhooksService } from '../../src/webhooks/webhooks.service.js';
import { WorkerTickService } from '../../src/worker/worker-tick.service.js';
import { startTestApp, TEST_SHARED_KEY, type TestApp } from '../support/app.js';
import { closedPort, startLoopbackServer, type LoopbackServer } from '../common/loopback-server.js';
import {
  allSettled,
  deliveries,
  driveUntil,
  finishedJobWithWebhooks,
  header,
  insertTerminalJob,
  verify002,
  verifyStandardWebhooks,
} from './webhook-support.js';

let t: TestApp;
let receiver: LoopbackServer;
const seen = new Map<string, number>();

beforeAll(async () => {
  receiver = await startLoopbackServer((req, res) => {
    const id = header(req.headers, 'webhook-id');
    const count = (seen.get(id) ?? 0) + 1;
    seen.set(id, count);
    const path = req.path.split('?')[0];
    if (path === '/flaky' && count <= 2) return void res.writeHead(500).end('{"error":"database unavailable"}');
    if (path === '/gone') return void res.writeHead(410).end('endpoint removed');
    if (path === '/redirect') return void res.writeHead(302, { location: '/redirect-target' }).end();
    if (path === '/throttle') return void res.writeHead(429, { 'retry-after': '1' }).end('slow down');
    if (path === '/unavailable') return void res.writeHead(503, { 'retry-after': '86400' }).end('maintenance');
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success"}');
  });
  t = await startTestApp({
    env: {
      WEBHOOK_RETRY_BASE: '0.05',
      WEBHOOK_MAX_RETRIES: '3',
      WEBHOOK_TIMEOUT: '2',
      WORKER_POLL_INTERVAL: '3600',
      OPENAI_MAX_RETRIES: '0',
    },
  });
});
afterAll(async () => {
  await t.close();
  await receiver.close();
});

const json = (body: Buffer) => JSON.parse(body.toString('utf8')) as Record<string, any>;

/** Runs 002's Python verify_webhook_signature itself when python3 is present. */
function python002(body: Buffer, signature: string): boolean | undefined {
  const script = [
    'import hmac, hashlib, sys, json',
    'def verify_webhook_signature(payload_json, received_signature, shared_key):',
    '    expected_signature = hmac.new(shared_key.encode(), payload_json.encode(), hashlib.sha256).hexdigest()',
    '    return f"sha256={expected_signature}" == received_signature',
    'data = json.loads(sys.stdin.read())',
    'print(verify_webhook_signature(bytes.fromhex(data["body"]).decode("utf-8"), data["sig"], data["key"]))',
  ].join('\n');
  const run = spawnSync('python3', ['-c', script], {
    input: JSON.stringify({ body: body.toString('hex'), sig: signature, key: TEST_SHARED_KEY }),
  });
  if (run.error) return undefined;
  return run.stdout.toString().trim() === 'True';
}

test('a completed job is delivered once with the 002 payload, both signatures verifying independently', async () => {
  const url = `${receiver.url}/ok?token=abc`;
  const jobId = await finishedJobWithWebhooks(t, {
    languages: ['en', 'de'],
    lots: [
      { lotId: 'batch-001', webhook: url, en: '<p>Délabré: "dent" \\ rear\n</p>', missing: ['https://img.example.com/x.jpg'] },
      { lotId: 'batch-002', webhook: url, status: 'failed', error: 'No usable image' },
    ],
  });
  await driveUntil([t], allSettled(t.db, jobId));

  const [request, ...others] = receiver.requests.filter((r) => r.path === '/ok?token=abc');
  expect(others).toHaveLength(0);
  expect(request.method).toBe('POST');
  expect(request.headers['content-type']).toBe('application/json');
  expect(request.headers['user-agent']).toBe('Generation-Service/2.0');
  expect(request.headers['x-delivery-attempt']).toBe('1');
  expect(request.headers['x-job-id']).toBe(jobId);

  const [row] = await deliveries(t.db, jobId);
  expect(request.headers['webhook-id']).toBe(row.id);
  expect(verify002(request.body, header(request.headers, 'x-signature'), TEST_SHARED_KEY)).toBe(true);
  expect(python002(request.body, header(request.headers, 'x-signature'))).not.toBe(false);
  const secret = `whsec_${Buffer.from(TEST_SHARED_KEY, 'utf8').toString('base64')}`;
  expect(verifyStandardWebhooks(secret, request.headers, request.body)).toBe(true);
  // The verifiers can fail: a changed body, another key or a stale timestamp are refused.
  const tampered = Buffer.from(request.body.toString().replace('batch-001', 'batch-00X'));
  expect(verify002(tampered, header(request.headers, 'x-signature'), TEST_SHARED_KEY)).toBe(false);
  expect(python002(tampered, header(request.headers, 'x-signature'))).not.toBe(true);
  expect(verifyStandardWebhooks(secret, request.headers, tampered)).toBe(false);
  expect(verifyStandardWebhooks(`whsec_${Buffer.from('other-key').toString('base64')}`, request.headers, request.body)).toBe(false);
  expect(verifyStandardWebhooks(secret, request.headers, request.body, Date.now() / 1000 + 301)).toBe(false);

  expect(json(request.body)).toEqual({
    event: 'batch_job_completed',
    job_id: jobId,
    status: 'completed',
    completed_at: '2025-08-05T08:15:00.000Z',
    processing_summary: {
      total_lots: 2,
      processed_lots: 1,
      failed_lots: 1,
      total_processing_time: '45 minutes',
      cost: { total_usd: 0, currency: 'USD', prices_as_of: expect.stringMatching(/^\d{4}-\d\d-\d\d$/) as unknown, unpriced_models: [] },
    },
    lots: [
      {
        lot_id: 'batch-001',
        status: 'completed',
        processed_at: '2025-08-05T08:10:00.000Z',
        processed_images: 1,
        descriptions: [
          { language: 'en', damages: '<p>Délabré: "dent" \\ rear\n</p>' },
          { language: 'de', damages: '<p>Schaden batch-001</p>' },
        ],
        missing_images: ['https://img.example.com/x.jpg'],
        error: null,
      },
      {
        lot_id: 'batch-002',
        status: 'failed',
        processed_at: '2025-08-05T08:10:01.000Z',
        processed_images: 0,
        descriptions: [],
        missing_images: [],
        error: 'No usable image',
      },
    ],
    metadata: {},
    part: 1,
    parts: 1,
  });
  expect(row).toMatchObject({
    status: 'delivered',
    attempt_count: 1,
    response_status: 200,
    response_excerpt: '{"status":"success"}',
    error_message: null,
  });
  expect(row.delivered_at).toBeInstanceOf(Date);
  expect(row.next_attempt_at).toBeNull();
});

test('the worker loop runs the sender: plain ticks deliver', async () => {
  const worker = t.app.get(WorkerTickService);
  expect(worker.taskNames).toContain(WEBHOOK_TASK_NAME);
  const jobId = await finishedJobWithWebhooks(t, { lots: [{ lotId: 'tick-1', webhook: `${receiver.url}/ok/tick` }] });
  const stopAt = Date.now() + 15_000;
  while (!(await allSettled(t.db, jobId)()) && Date.now() < stopAt) await worker.tick();
  expect((await deliveries(t.db, jobId))[0].status).toBe('delivered');
  expect(receiver.to('/ok/tick')).toHaveLength(1);
});

test('enqueueing is idempotent, skips jobs without webhooks and refuses running jobs', async () => {
  const service = t.app.get(WebhooksService);
  const jobId = await insertTerminalJob(t.db, {
    lots: [
      { lotId: 'a', webhook: `${receiver.url}/ok` },
      { lotId: 'b', webhook: `${receiver.url}/ok2` },
    ],
  });
  expect(await service.enqueueForJob(jobId)).toBe(2);
  expect(await service.enqueueForJob(jobId)).toBe(0);
  expect(await Promise.all([service.enqueueForJob(jobId), service.enqueueForJob(jobId)])).toEqual([0, 0]);
  expect(await deliveries(t.db, jobId)).toHaveLength(2);

  const quiet = await insertTerminalJob(t.db, { lots: [{ lotId: 'a' }, { lotId: 'b', webhook: '' }] });
  expect(await service.enqueueForJob(quiet)).toBe(0);
  expect(await deliveries(t.db, quiet)).toHaveLength(0);

  await t.db.query(`UPDATE batch_jobs SET status = 'translating' WHERE id = $1`, [quiet]);
  await expect(service.enqueueForJob(quiet)).rejects.toThrow('not in a terminal status');
});

test('each URL receives only the lots that named it, in request order', async () => {
  const [a, b] = [`${receiver.url}/ok/a`, `${receiver.url}/ok/b`];
  const jobId = await finishedJobWithWebhooks(t, {
    lots: [
      { lotId: 'l1', webhook: a },
      { lotId: 'l2', webhook: b },
      { lotId: 'l3' },
      { lotId: 'l4', webhook: a },
      { lotId: 'l5', webhook: b },
    ],
  });
  await driveUntil([t], allSettled(t.db, jobId));
  const lotsAt = (path: string) => receiver.to(path).map((r) => json(r.body).lots.map((lot: { lot_id: string }) => lot.lot_id));
  expect(lotsAt('/ok/a')).toEqual([['l1', 'l4']]);
  expect(lotsAt('/ok/b')).toEqual([['l2', 'l5']]);
});

test('a receiver answering 500 twice then 200 is retried on the schedule and ends delivered after 3 attempts', async () => {
  const jobId = await finishedJobWithWebhooks(t, { lots: [{ lotId: 'f1', webhook: `${receiver.url}/flaky` }] });
  await driveUntil([t], allSettled(t.db, jobId));
  const requests = receiver.to('/flaky');
  expect(requests.map((r) => r.headers['x-delivery-attempt'])).toEqual(['1', '2', '3']);
  expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(1); // stable across retries
  expect(new Set(requests.map((r) => r.body.toString())).size).toBe(1); // same body every time
  // Base 0.05 s: at least 50 ms, then 100 ms between attempts (plus ≤ 10 % jitter and tick latency).
  expect(requests[1].at - requests[0].at).toBeGreaterThanOrEqual(45);
  expect(requests[2].at - requests[1].at).toBeGreaterThanOrEqual(95);
  const [row] = await deliveries(t.db, jobId);
  expect(row).toMatchObject({ status: 'delivered', attempt_count: 3, response_status: 200, error_message: null });
  const attempts = await t.db.query(
    'SELECT attempt, outcome, response_status, error_message FROM webhook_delivery_attempts WHERE delivery_id = $1 ORDER BY attempt',
    [row.id],
  );
  expect(attempts).toEqual([
    { attempt: 1, outcome: 'retry', response_status: 500, error_message: 'HTTP 500 from receiver' },
    { attempt: 2, outcome: 'retry', response_status: 500, error_message: 'HTTP 500 from receiver' },
    { attempt: 3, outcome: 'delivered', response_status: 200, error_message: null },
  ]);
});

test('a dead receiver ends failed after the configured attempts (WEBHOOK_MAX_RETRIES=3)', async () => {
  const jobId = await finishedJobWithWebhooks(t, { lots: [{ lotId: 'd1', webhook: `http://127.0.0.1:${await closedPort()}/hook` }] });
  await driveUntil([t], allSettled(t.db, jobId));
  const [row] = await deliveries(t.db, jobId);
  expect(row).toMatchObject({ status: 'failed', attempt_count: 3, max_attempts: 3, response_status: null, next_attempt_at: null });
  expect(row.error_message).toContain('ECONNREFUSED');
  expect(row.error_message).toContain('gave up after attempt 3 of 3');
});

test('410 Gone stops at once; a 302 is a failure and its target receives nothing', async () => {
  const gone = await finishedJobWithWebhooks(t, { lots: [{ lotId: 'g1', webhook: `${receiver.url}/gone` }] });
  const moved = await finishedJobWithWebhooks(t, { lots: [{ lotId: 'r1', webhook: `${receiver.url}/redirect` }] });
  await driveUntil([t], async () => (await allSettled(t.db, gone)()) && (await allSettled(t.db, moved)()));

  const [goneRow] = await deliveries(t.db, gone);
  expect(goneRow).toMatchObject({ status: 'failed', attempt_count: 1, response_status: 410, response_excerpt: 'endpoint removed' });
  expect(goneRow.error_message).toContain('410 Gone');
  expect(receiver.to('/gone')).toHaveLength(1);

  const [movedRow] = await deliveries(t.db, moved);
  expect(movedRow).toMatchObject({ status: 'failed', attempt_count: 3, response_status: 302 });
  expect(movedRow.error_message).toContain('redirect to /redirect-target not followed');
  expect(receiver.to('/redirect')).toHaveLength(3);
  expect(receiver.to('/redirect-target')).toHaveLength(0);
});

test('Retry-After on 429/503 is honoured, and bounded to one hour', async () => {
  const throttled = await finishedJobWithWebhooks(t, { lots: [{ lotId: 't1', webhook: `${receiver.url}/throttle` }] });
  const unavailable = await finishedJobWithWebhooks(t, { lots: [{ lotId: 'u1', webhook: `${receiver.url}/unavailable` }] });
  await driveUntil(
    [t],
    async () =>
      (await deliveries(t.db, throttled))[0].attempt_count === 1 && (await deliveries(t.db, unavailable))[0].response_status === 503,
  );
  const [short] = await deliveries(t.db, throttled);
  const [long] = await deliveries(t.db, unavailable);
  const wait = (row: typeof short) => row.next_attempt_at!.getTime() - row.last_attempt_at!.getTime();
  expect(short).toMatchObject({ status: 'pending', response_status: 429 });
  expect(wait(short)).toBeGreaterThanOrEqual(1000); // not the 50 ms of the schedule
  expect(wait(short)).toBeLessThan(5000);
  expect(wait(long)).toBeGreaterThanOrEqual(3_600_000 - 5000);
  expect(wait(long)).toBeLessThanOrEqual(3_600_000 + 5000);
});

test('failed and cancelled jobs send their own events with the error message', async () => {
  const failed = await finishedJobWithWebhooks(t, {
    status: 'failed',
    errorMessage: 'Vision batch expired twice',
    lots: [{ lotId: 'x1', webhook: `${receiver.url}/ok/failed`, status: 'failed' }],
  });
  const cancelled = await finishedJobWithWebhooks(t, {
    status: 'cancelled',
    errorMessage: 'Cancelled by the client',
    lots: [{ lotId: 'y1', webhook: `${receiver.url}/ok/cancelled` }],
  });
  await driveUntil([t], async () => (await allSettled(t.db, failed)()) && (await allSettled(t.db, cancelled)()));
  const [f] = receiver.to('/ok/failed').map((r) => json(r.body));
  const [c] = receiver.to('/ok/cancelled').map((r) => json(r.body));
  expect(f).toMatchObject({
    event: 'batch_job_failed',
    status: 'failed',
    error_message: 'Vision batch expired twice',
    lots: [{ lot_id: 'x1', status: 'failed' }],
  });
  expect(c).toMatchObject({
    event: 'batch_job_cancelled',
    status: 'cancelled',
    error_message: 'Cancelled by the client',
    completed_at: '2025-08-05T08:15:00.000Z',
  });
  expect((await deliveries(t.db, failed))[0].event).toBe('batch_job_failed');
});

test('private targets are refused when ALLOW_PRIVATE_NETWORKS=false: recorded once as failed, never sent', async () => {
  const strict = await startTestApp({
    db: t.db,
    env: { ALLOW_PRIVATE_NETWORKS: 'false', WORKER_POLL_INTERVAL: '3600', WEBHOOK_MAX_RETRIES: '3', OPENAI_MAX_RETRIES: '0' },
  });
  try {
    const before = receiver.requests.length;
    const literal = await finishedJobWithWebhooks(strict, { lots: [{ lotId: 'p1', webhook: `${receiver.url}/ok/private` }] });
    const named = await finishedJobWithWebhooks(strict, {
      lots: [{ lotId: 'p2', webhook: `http://localhost:${receiver.port}/ok/private` }],
    });
    const metadata = await finishedJobWithWebhooks(strict, {
      lots: [{ lotId: 'p3', webhook: 'http://169.254.169.254/latest/meta-data/' }],
    });
    // Only the strict app ticks: the shared database also serves `t`, whose policy allows loopback.
    await driveUntil([strict], async () =>
      (await Promise.all([literal, named, metadata].map((id) => allSettled(t.db, id)()))).every(Boolean),
    );
    for (const [jobId, words] of [
      [literal, 'loopback'],
      [named, 'resolved to'],
      [metadata, 'link-local'],
    ] as const) {
      const [row] = await deliveries(t.db, jobId);
      expect(row).toMatchObject({ status: 'failed', attempt_count: 1, response_status: null });
      expect(row.error_message).toContain(words);
      expect(row.error_message).toContain('Not retried');
    }
    expect(receiver.requests.length).toBe(before);
  } finally {
    await strict.close();
  }
});
