import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac } from 'node:crypto';
import { WorkerTickService } from '../../src/worker/worker-tick.service.js';
import { startTestApp, TEST_SHARED_KEY, type TestApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { body } from './jobs-support.js';

/** A cancelled job tells its webhook receivers, like a finished one does (event batch_job_cancelled). */
let t: TestApp;
let receiver: Server;
let receiverUrl: string;
const received: { headers: IncomingMessage['headers']; raw: string }[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, raw });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  // A worker that never ticks on its own: the test drives it.
  t = await startTestApp({ env: { WORKER_POLL_INTERVAL: '3600' } });
});
afterAll(async () => {
  await t.close();
  await new Promise((resolve) => receiver.close(resolve));
});

test('cancelling a job queues batch_job_cancelled in the same transaction and delivers it, signed', async () => {
  const res = await t.postLots({
    version: '1.0.0',
    languages: ['en'],
    lots: [
      { lot_id: 'a', webhook: receiverUrl, images: [{ url: 'http://127.0.0.1:9/a.jpg' }] },
      { lot_id: 'b', images: [{ url: 'http://127.0.0.1:9/b.jpg' }] },
    ],
  });
  expect(res.status).toBe(201);
  const jobId = (await body(res)).job_id as string;

  const cancelled = await t.fetch(`/api/v1/batch-jobs/${jobId}/cancel`, { method: 'POST', signWith: jobId });
  expect(cancelled.status).toBe(200);
  const rows = await t.db.query(`SELECT webhook_url, event, status FROM webhook_deliveries WHERE batch_job_id = $1`, [jobId]);
  // Present as soon as the cancel answered (same transaction); a worker woken by the job's creation may already have sent it.
  expect(rows).toEqual([
    { webhook_url: receiverUrl, event: 'batch_job_cancelled', status: expect.stringMatching(/^(pending|delivered)$/) },
  ]);

  await t.app.get(WorkerTickService).tick();
  await waitFor(async () => received.length > 0, { timeoutMs: 10_000, what: 'the webhook' });
  expect(received).toHaveLength(1);
  const [{ headers, raw }] = received;
  expect(headers['x-signature']).toBe('sha256=' + createHmac('sha256', TEST_SHARED_KEY).update(raw).digest('hex'));
  const payload = JSON.parse(raw);
  expect(payload).toMatchObject({ event: 'batch_job_cancelled', job_id: jobId, status: 'cancelled' });
  expect(payload.lots.map((lot: { lot_id: string }) => lot.lot_id)).toEqual(['a']);
});
