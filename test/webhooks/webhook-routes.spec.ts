import { WEBHOOK_TASK_NAME } from '../../src/webhooks/webhook-sender.service.js';
import { WorkerTickService } from '../../src/worker/worker-tick.service.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { startLoopbackServer, type LoopbackServer } from '../common/loopback-server.js';
import { allSettled, attemptKeys, deliveries, driveUntil, finishedJobWithWebhooks, insertTerminalJob } from './webhook-support.js';

type Json = any;

let t: TestApp;
let receiver: LoopbackServer;
let downIsUp = false;
let jobId: string;

const list = (id: string) => t.fetch(`/api/v1/batch-jobs/${id}/webhook-deliveries`, { signWith: id });
const redeliver = (id: string, body?: unknown, signWith: string | undefined = id) =>
  t.fetch(`/api/v1/batch-jobs/${id}/webhooks/redeliver`, {
    method: 'POST',
    signWith,
    ...(body === undefined ? {} : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
  });
const json = async (res: Response): Promise<Json> => (await res.json()) as Json;

beforeAll(async () => {
  receiver = await startLoopbackServer((req, res) => {
    if (req.path === '/down' && !downIsUp) return void res.writeHead(503).end('{"error":"maintenance"}');
    res.writeHead(200).end('thanks');
  });
  t = await startTestApp({
    env: { WEBHOOK_RETRY_BASE: '0.02', WEBHOOK_MAX_RETRIES: '2', WORKER_POLL_INTERVAL: '3600', OPENAI_MAX_RETRIES: '0' },
  });
  jobId = await finishedJobWithWebhooks(t, {
    lots: [
      { lotId: 'a', webhook: `${receiver.url}/up` },
      { lotId: 'b', webhook: `${receiver.url}/down` },
    ],
  });
  await driveUntil([t], allSettled(t.db, jobId));
});
afterAll(async () => {
  await t.close();
  await receiver.close();
});

test('GET webhook-deliveries lists every delivery with its state and attempts', async () => {
  const res = await list(jobId);
  expect(res.status).toBe(200);
  const body = await json(res);
  expect(body.job_id).toBe(jobId);
  const [down, up] = body.deliveries.sort((x: Json, y: Json) => x.webhook_url.localeCompare(y.webhook_url));
  expect(Object.keys(up).sort()).toEqual([
    'attempt_count',
    'attempts',
    'batch_job_id',
    'created_at',
    'delivered_at',
    'error_message',
    'event',
    'id',
    'last_attempt_at',
    'lot_count',
    'max_attempts',
    'next_attempt_at',
    'part',
    'parts',
    'response_excerpt',
    'response_status',
    'status',
    'updated_at',
    'webhook_id',
    'webhook_url',
  ]);
  expect(up).toMatchObject({
    webhook_url: `${receiver.url}/up`,
    event: 'batch_job_completed',
    part: 1,
    parts: 1,
    lot_count: 1,
    status: 'delivered',
    attempt_count: 1,
    max_attempts: 2,
    response_status: 200,
    response_excerpt: 'thanks',
    error_message: null,
    next_attempt_at: null,
  });
  expect(up.webhook_id).toBe(up.id);
  expect(Date.parse(up.delivered_at)).not.toBeNaN();
  expect(down).toMatchObject({
    status: 'failed',
    attempt_count: 2,
    response_status: 503,
    response_excerpt: '{"error":"maintenance"}',
    delivered_at: null,
  });
  expect(down.error_message).toContain('gave up after attempt 2 of 2');
  expect(down.attempts.map((a: Json) => [a.attempt, a.outcome, a.response_status])).toEqual([
    [1, 'retry', 503],
    [2, 'failed', 503],
  ]);
  expect(down.attempts[0]).toMatchObject({ error_message: 'HTTP 503 from receiver', duration_ms: expect.any(Number) });
});

test('POST redeliver re-sends the failed deliveries as new attempts with a fresh schedule', async () => {
  downIsUp = true;
  const res = await redeliver(jobId);
  expect(res.status).toBe(202);
  const body = await json(res);
  expect(body).toMatchObject({ job_id: jobId, all: false, requeued_count: 1 });
  expect(body.requeued).toHaveLength(1);
  expect(body.requeued[0]).toMatchObject({ webhook_url: `${receiver.url}/down`, status: 'pending', attempt_count: 2, max_attempts: 4 });
  expect(Date.parse(body.requeued[0].next_attempt_at)).not.toBeNaN();

  await driveUntil([t], allSettled(t.db, jobId));
  const rows = await deliveries(t.db, jobId);
  const down = rows.find((row) => row.webhook_url.endsWith('/down'))!;
  expect(down).toMatchObject({ status: 'delivered', attempt_count: 3, response_status: 200, error_message: null });
  expect(attemptKeys(receiver.to('/down'))).toEqual([`${down.id}#1`, `${down.id}#2`, `${down.id}#3`]); // same webhook-id
  expect(receiver.to('/up')).toHaveLength(1); // the delivered one was left alone

  const again = await json(await redeliver(jobId, {}));
  expect(again).toMatchObject({ requeued_count: 0, requeued: [] });
});

test('POST redeliver with all=true re-sends every finished delivery', async () => {
  const body = await json(await redeliver(jobId, { all: true }));
  expect(body).toMatchObject({ all: true, requeued_count: 2 });
  await driveUntil([t], allSettled(t.db, jobId));
  expect(receiver.to('/up')).toHaveLength(2);
  expect(receiver.to('/down')).toHaveLength(4);
  expect((await deliveries(t.db, jobId)).map((row) => row.status)).toEqual(['delivered', 'delivered']);
});

test('a malformed body is a 400 in the error shape', async () => {
  const res = await redeliver(jobId, { all: 'yes' });
  expect(res.status).toBe(400);
  expect(await json(res)).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('all') });
});

describe('authentication and scoping', () => {
  const routes = [
    [
      'GET webhook-deliveries',
      (id: string, init: RequestInit & { signWith?: string }) => t.fetch(`/api/v1/batch-jobs/${id}/webhook-deliveries`, init),
    ],
    [
      'POST redeliver',
      (id: string, init: RequestInit & { signWith?: string }) =>
        t.fetch(`/api/v1/batch-jobs/${id}/webhooks/redeliver`, { method: 'POST', ...init }),
    ],
  ] as const;

  test.each(routes)('%s: 401 without a signature, 403 with a wrong one', async (_name, call) => {
    const missing = await call(jobId, {});
    expect(missing.status).toBe(401);
    expect(await json(missing)).toMatchObject({ code: 'MISSING_SIGNATURE' });
    const wrong = await call(jobId, { signWith: 'another-job-id' });
    expect(wrong.status).toBe(403);
    expect(await json(wrong)).toMatchObject({ code: 'INVALID_SIGNATURE' });
  });

  test.each(routes)("%s: another client's job, an unknown job and a malformed id are 404", async (_name, call) => {
    const foreign = await insertTerminalJob(t.db, { clientId: 'other-client', lots: [{ lotId: 'z', webhook: `${receiver.url}/foreign` }] });
    await t.db.query(
      `INSERT INTO webhook_deliveries (batch_job_id, webhook_url, event, status, attempt_count, max_attempts) VALUES ($1, $2, 'batch_job_completed', 'failed', 5, 5)`,
      [foreign, `${receiver.url}/foreign`],
    );
    for (const id of [foreign, '00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const res = await call(id, { signWith: id });
      expect([id, res.status]).toEqual([id, 404]);
      expect(await json(res)).toMatchObject({ code: 'JOB_NOT_FOUND' });
    }
    const [row] = await t.db.query('SELECT status FROM webhook_deliveries WHERE batch_job_id = $1', [foreign]);
    expect(row.status).toBe('failed'); // never re-queued for the wrong client
  });
});

test('both routes are in the OpenAPI document with HMAC security, error examples and schemas', async () => {
  const document = await json(await t.fetch('/docs-json'));
  const get = document.paths['/api/v1/batch-jobs/{job_id}/webhook-deliveries'].get;
  const post = document.paths['/api/v1/batch-jobs/{job_id}/webhooks/redeliver'].post;
  for (const operation of [get, post]) {
    expect(operation.summary).toEqual(expect.any(String));
    expect(operation.security).toEqual(expect.arrayContaining([{ hmac: [] }]));
    expect(operation.responses['401'].content['application/json'].examples.MISSING_SIGNATURE.value.code).toBe('MISSING_SIGNATURE');
    expect(operation.responses['403'].content['application/json'].examples.INVALID_SIGNATURE.value.code).toBe('INVALID_SIGNATURE');
    expect(operation.responses['404'].content['application/json'].examples.JOB_NOT_FOUND.value.code).toBe('JOB_NOT_FOUND');
    expect(operation.parameters[0]).toMatchObject({ name: 'job_id', in: 'path', schema: { example: expect.any(String) } });
  }
  expect(get.responses['200'].content['application/json'].schema.$ref).toContain('WebhookDeliveryListDto');
  expect(post.responses['202'].content['application/json'].schema.$ref).toContain('RedeliveryResultDto');
  expect(post.requestBody.content['application/json'].examples.everything.value).toEqual({ all: true });
  const delivery = document.components.schemas.WebhookDeliveryDto.properties;
  for (const property of ['webhook_id', 'status', 'attempt_count', 'next_attempt_at', 'response_excerpt', 'attempts']) {
    expect([property, delivery[property]]).toEqual([property, expect.anything()]);
  }
  expect(delivery.status.example).toBe('delivered');
});

test('the routes exist only where the API runs; the sender task is registered in a worker process', async () => {
  const env = { WORKER_POLL_INTERVAL: '3600', OPENAI_MAX_RETRIES: '0' };
  const [worker, api] = await Promise.all([
    startTestApp({ db: t.db, env: { ...env, APP_ROLE: 'worker' } }),
    startTestApp({ db: t.db, env: { ...env, APP_ROLE: 'api' } }),
  ]);
  try {
    const onWorker = await worker.fetch(`/api/v1/batch-jobs/${jobId}/webhook-deliveries`, { signWith: jobId });
    expect(onWorker.status).toBe(404);
    expect(await json(onWorker)).toMatchObject({ code: 'NOT_FOUND' });
    expect(worker.app.get(WorkerTickService).taskNames).toContain(WEBHOOK_TASK_NAME);
    expect((await api.fetch(`/api/v1/batch-jobs/${jobId}/webhook-deliveries`, { signWith: jobId })).status).toBe(200);
  } finally {
    await Promise.all([worker.close(), api.close()]);
  }
});
