import { WorkerTickService } from '../../src/worker/worker-tick.service.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { waitFor } from '../support/wait.js';
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
  // Let the bootstrap tick pass: a tick of our own shares its running tasks and returns once they are done.
  await t.app.get(WorkerTickService).tick();
  const jobId = await createBatch(t, 2, {
    lots: [
      { lot_id: 'a', images: [{ url: `${images.base}/a.png` }] },
      { lot_id: 'b', images: [{ url: `${images.base}/b.png` }] },
    ],
  });
  const stage = await waitFor(
    async () => {
      const [{ current_stage }] = await t.db.query<{ current_stage: string }>('SELECT current_stage FROM batch_jobs WHERE id = $1', [
        jobId,
      ]);
      return current_stage !== 'queued' && current_stage;
    },
    { timeoutMs: 10_000, what: 'the job to leave the queued stage' },
  );
  expect(stage).not.toBe('queued');
});
