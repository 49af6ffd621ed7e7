import { startTestApp, type TestApp } from '../support/app.js';
import { createBatch, startImageServer } from './jobs-support.js';

/*
 * A job created in a process that also runs the worker starts at once: the
 * API wakes the in-process worker instead of leaving the job for the next
 * tick (here a minute away).
 */

let images: Awaited<ReturnType<typeof startImageServer>>;
let t: TestApp;
beforeAll(async () => {
  images = await startImageServer();
  t = await startTestApp({ env: { APP_ROLE: 'all', WORKER_POLL_INTERVAL: '60', RATE_LIMIT_BATCH: '1000', OPENAI_MAX_RETRIES: '0' } });
});
afterAll(async () => {
  await t.close();
  await images.close();
});

test('the worker picks a new job up well before its next tick', async () => {
  await new Promise((resolve) => setTimeout(resolve, 500)); // let the bootstrap tick pass
  const jobId = await createBatch(t, 2, {
    lots: [
      { lot_id: 'a', images: [{ url: `${images.base}/a.png` }] },
      { lot_id: 'b', images: [{ url: `${images.base}/b.png` }] },
    ],
  });
  const deadline = Date.now() + 10_000;
  let stage = 'queued';
  while (stage === 'queued' && Date.now() < deadline) {
    [{ current_stage: stage }] = await t.db.query<{ current_stage: string }>('SELECT current_stage FROM batch_jobs WHERE id = $1', [jobId]);
    if (stage === 'queued') await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(stage).not.toBe('queued');
});
