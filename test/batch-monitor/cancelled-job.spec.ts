import { BatchReconcilerService } from '../../src/batch-monitor/batch-reconciler.service.js';
import {
  insertBatchJob,
  jobRow,
  lotRows,
  openaiBatches,
  startPipeline,
  tickFor,
  tickUntil,
  type PipelineHarness,
} from '../pipeline/pipeline-support.js';

/**
 * A job the client cancels (the API marks it `cancelled`): the worker stops
 * touching it and its OpenAI batch is cancelled — at once by the API, or by
 * the worker's sweep when that first attempt failed.
 */
describe('cancelled jobs', () => {
  let h: PipelineHarness;
  beforeEach(async () => {
    h = await startPipeline({ env: { BATCH_RECONCILE_INTERVAL: '3600' } });
  });
  afterEach(() => h?.close());

  async function jobInVision(): Promise<string> {
    h.emu.faults.batch({ stuck: 'in_progress', match: { stage: 'vision' } });
    const jobId = await insertBatchJob(h.app.db, {
      languages: ['en', 'fr'],
      lots: ['a', 'b', 'c', 'd'].map((lotId) => ({ lotId, images: [`${h.images.url}/img/${lotId}.jpg`] })),
    });
    await tickUntil(h.app, async () => (await openaiBatches(h.app.db, jobId)).length === 1, { what: 'the vision batch' });
    return jobId;
  }

  const cancel = (jobId: string) => h.app.fetch(`/api/v1/batch-jobs/${jobId}/cancel`, { method: 'POST', signWith: jobId });

  it('stops the worker and cancels the OpenAI batch', async () => {
    const jobId = await jobInVision();
    expect((await cancel(jobId)).status).toBe(200);

    const [batch] = await openaiBatches(h.app.db, jobId);
    expect(batch.cancel_requested_at).not.toBeNull();
    expect(h.emu.stats().requests['POST /v1/batches/:id/cancel']).toBe(1);

    // The cancelled batch ends with partial output; the worker must leave it and the job alone.
    const before = await lotRows(h.app.db, jobId);
    await tickFor(h.app, 800);
    expect(await jobRow(h.app.db, jobId)).toMatchObject({ status: 'cancelled' });
    expect(await lotRows(h.app.db, jobId)).toEqual(before);
    const batches = await openaiBatches(h.app.db, jobId);
    expect(batches).toHaveLength(1);
    expect(batches[0].ingested_at).toBeNull();
    expect(h.emu.stats()).toMatchObject({ batchesCreated: 1, responsesCreated: 0 });
  });

  it('the sweep cancels the batch when the API could not', async () => {
    const jobId = await jobInVision();
    h.emu.faults.failNext(500, { route: 'POST /v1/batches/:id/cancel', count: 2 });
    expect((await cancel(jobId)).status).toBe(200);
    expect((await openaiBatches(h.app.db, jobId))[0].last_error).toMatch(/cancel failed/);

    const reconciler = h.app.app.get(BatchReconcilerService);
    await reconciler.sweep(); // asks OpenAI again
    const settled = await tickUntil(
      h.app,
      async () => {
        await reconciler.sweep();
        const [batch] = await openaiBatches(h.app.db, jobId);
        return batch.abandoned_at ? batch : undefined;
      },
      { what: 'the batch to be cancelled upstream' },
    );
    expect(settled.status).toBe('cancelled');
    expect(h.emu.stats().requests['POST /v1/batches/:id/cancel']).toBe(3);
  });
});
