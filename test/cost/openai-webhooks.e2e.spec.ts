import { randomBytes } from 'node:crypto';
import { WorkerTickService } from '../../src/worker/worker-tick.service.js';
import { standardSignature } from '../../src/webhooks/webhook-signature.js';
import { statusSynced } from '../jobs/jobs-support.js';
import { json } from '../support/app.js';
import { waitFor } from '../support/wait.js';
import { startPipeline, tickUntil, type PipelineHarness } from '../pipeline/pipeline-support.js';

const KEY = randomBytes(32);
const SECRET = `whsec_${KEY.toString('base64')}`;
const EMULATOR_KEY = 'sk-test-emulator-key';

function signed(body: string, key = KEY): Record<string, string> {
  const id = `wh_${randomBytes(8).toString('hex')}`;
  const timestamp = Math.floor(Date.now() / 1000);
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': standardSignature(key, id, timestamp, Buffer.from(body)),
  };
}

describe('OpenAI webhooks wake the batch’s job before the next poll', () => {
  let h: PipelineHarness;
  // An hour between polls: without the webhook the job would not move during the test.
  beforeAll(async () => {
    h = await startPipeline({ env: { OPENAI_WEBHOOK_SECRET: SECRET, WORKER_POLL_INTERVAL: '3600' } });
  });
  afterAll(() => h?.close());

  const post = (body: string, headers: Record<string, string>) => h.app.fetch('/openai/webhooks', { method: 'POST', headers, body });

  it('batch.completed (signed with the secret) makes the waiting job advance at the next tick', async () => {
    const response = await h.app.postLots({
      languages: ['en'],
      lots: [1, 2].map((n) => ({ lot_id: `w-${n}`, images: [{ url: `${h.images.url}/img/w${n}.jpg` }] })),
    });
    const jobId = ((await response.json()) as { job_id: string }).job_id;
    const batch = await tickUntil(
      h.app,
      async () =>
        (
          await h.app.db.query<{ openai_batch_id: string }>(`SELECT openai_batch_id FROM openai_batches WHERE batch_job_id = $1`, [jobId])
        )[0],
      { what: 'the vision batch' },
    );
    await waitFor(
      async () => {
        const res = await fetch(`${h.emu.url}/batches/${batch.openai_batch_id}`, { headers: { authorization: `Bearer ${EMULATOR_KEY}` } });
        return ((await res.json()) as { status: string }).status === 'completed' || undefined;
      },
      { what: 'the batch to complete at the emulator' },
    );

    // Finished at OpenAI, but the job is not due for an hour: a tick leaves it waiting.
    await h.app.app.get(WorkerTickService).tick();
    const waiting = (await json(await h.app.getJob(`/api/v1/batch-status/${jobId}`, jobId))) as { status: string };
    expect(waiting.status).toBe('processing');

    const event = JSON.stringify({
      id: 'evt_1',
      object: 'event',
      created_at: 1750287018,
      type: 'batch.completed',
      data: { id: batch.openai_batch_id },
    });
    const bad = await post(event, signed(event, randomBytes(32)));
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'INVALID_SIGNATURE' });

    const ok = await post(event, signed(event));
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ received: true, type: 'batch.completed', job_woken: true });

    await h.app.app.get(WorkerTickService).tick();
    await statusSynced(h.app); // the "processing" answer above stays cached until the completion's notification arrives
    const done = (await json(await h.app.getJob(`/api/v1/batch-status/${jobId}`, jobId))) as { status: string };
    expect(done.status).toBe('completed');
  });

  it('other events and unknown batches are acknowledged without waking anything', async () => {
    const other = JSON.stringify({
      id: 'evt_2',
      object: 'event',
      created_at: 1750287018,
      type: 'response.completed',
      data: { id: 'resp_1' },
    });
    expect(await (await post(other, signed(other))).json()).toEqual({ received: true, type: 'response.completed', job_woken: false });
    const unknown = JSON.stringify({
      id: 'evt_3',
      object: 'event',
      created_at: 1750287018,
      type: 'batch.failed',
      data: { id: 'batch_not_ours' },
    });
    expect(await (await post(unknown, signed(unknown))).json()).toEqual({ received: true, type: 'batch.failed', job_woken: false });
  });
});
