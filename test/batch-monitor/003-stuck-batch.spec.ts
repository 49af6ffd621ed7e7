import type { BatchFault } from '../../src/emulator/emulator.js';
import { describeDamage, translateHtml } from '../../src/emulator/text-generator.js';
import {
  insertBatchJob,
  lotRows,
  openaiBatches,
  startPipeline,
  untilTerminal,
  type PipelineHarness,
} from '../pipeline/pipeline-support.js';

/**
 * Reference 003: a translation batch sat `in_progress` for 7 hours and the job
 * never completed (the "fix" was unauthenticated routes and a manual status
 * change). Here each stage has a deadline; a batch past it is cancelled and
 * the lots it did not finish are done with direct calls; `expired`, `failed`
 * and `cancelled` upstream batches are handled the same way, keeping partial
 * results; `token_limit_exceeded` is retried later as a new batch. Every job
 * below ends, and ends `completed`.
 */
describe('003 — stuck batch', () => {
  let h: PipelineHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const LOTS = ['l1', 'l2', 'l3', 'l4'];

  async function run(fault: Omit<BatchFault, 'kind'>, languages: string[], env: Record<string, string> = {}, cancelFails = false) {
    h = await startPipeline({ env: { VISION_STAGE_DEADLINE: '1', TRANSLATION_STAGE_DEADLINE: '1', ...env } });
    h.emu.faults.batch(fault);
    if (cancelFails) h.emu.faults.failNext(500, { route: 'POST /v1/batches/:id/cancel', count: 1000 });
    const images = h.images.url;
    const jobId = await insertBatchJob(h.app.db, {
      languages,
      lots: LOTS.map((lotId) => ({ lotId, additionalInfo: `car ${lotId}`, images: [`${images}/img/${lotId}.jpg`] })),
    });
    const started = Date.now();
    const job = await untilTerminal(h.app, h.app.db, jobId, 20_000);
    return {
      jobId,
      job,
      elapsedMs: Date.now() - started,
      lots: await lotRows(h.app.db, jobId),
      batches: await openaiBatches(h.app.db, jobId),
    };
  }

  const expectAllDescribed = (lots: Awaited<ReturnType<typeof run>>['lots'], languages: string[]) => {
    for (const lotId of LOTS) {
      const english = describeDamage(`car ${lotId}`, 1);
      const row = lots.get(lotId)!;
      expect({ lotId, status: row.status, vision: row.vision_result }).toEqual({ lotId, status: 'completed', vision: english });
      for (const language of languages.filter((l) => l !== 'en'))
        expect(row.translations?.[language]).toBe(translateHtml(english, language));
    }
  };

  it('a vision batch stuck in_progress is cancelled at the deadline; its partial results are kept and the rest done directly', async () => {
    const { job, lots, batches, elapsedMs } = await run({ stuck: 'in_progress', match: { stage: 'vision' } }, ['en']);
    expect(job).toMatchObject({ status: 'completed', processed_lots: 4, failed_lots: 0 });
    expectAllDescribed(lots, ['en']);
    expect(batches).toHaveLength(1);
    expect(batches[0]).toMatchObject({ stage: 'vision', status: 'cancelled' });
    expect(batches[0].cancel_requested_at).not.toBeNull();
    // The emulator stalls after half the requests: those came from the batch, only the others were called directly.
    const stats = h!.emu.stats();
    expect(stats.requests['POST /v1/batches/:id/cancel']).toBe(1);
    expect(stats.responsesCreated).toBe(2);
    expect(elapsedMs).toBeLessThan(15_000);
  });

  it('a translation batch stuck in_progress is cancelled at its deadline and the translations finished directly', async () => {
    const { job, lots, batches } = await run({ stuck: 'in_progress', match: { stage: 'translation' } }, ['en', 'fr']);
    expect(job).toMatchObject({ status: 'completed', processed_lots: 4, current_stage: 'completed' });
    expectAllDescribed(lots, ['en', 'fr']);
    expect(batches.map((b) => [b.stage, b.status])).toEqual([
      ['translation', 'cancelled'],
      ['vision', 'completed'],
    ]);
    expect(h!.emu.stats().responsesCreated).toBe(2);
  });

  it('a cancel that never completes is abandoned after the grace period; the job still ends', async () => {
    const { job, lots, batches } = await run(
      { stuck: 'in_progress', match: { stage: 'vision' } },
      ['en'],
      { BATCH_CANCEL_GRACE: '0.3' },
      true,
    );
    expect({ status: job.status, error: job.error_message, lastError: job.last_error }).toMatchObject({ status: 'completed' });
    expectAllDescribed(lots, ['en']);
    expect(batches[0].cancel_requested_at).not.toBeNull();
    expect(batches[0].abandoned_at).not.toBeNull();
    expect(batches[0].last_error).toMatch(/after cancel/);
    // Nothing was taken from the abandoned batch: every lot was described directly.
    expect(h!.emu.stats().responsesCreated).toBe(4);
  });

  it('an expired batch keeps what it finished; the expired lines are done directly', async () => {
    const { job, lots, batches } = await run({ expireAfter: 1, match: { stage: 'vision' } }, ['en'], { VISION_STAGE_DEADLINE: '3600' });
    expect(job).toMatchObject({ status: 'completed', processed_lots: 4 });
    expectAllDescribed(lots, ['en']);
    expect(batches).toMatchObject([{ stage: 'vision', status: 'expired' }]);
    expect(batches[0].ingested_at).not.toBeNull();
    expect(h!.emu.stats().responsesCreated).toBe(3);
  });

  it('token_limit_exceeded is retried later as a new batch', async () => {
    const { job, lots, batches } = await run({ fail: 'token_limit_exceeded', match: { stage: 'vision' } }, ['en'], {
      VISION_STAGE_DEADLINE: '3600',
    });
    expect(job).toMatchObject({ status: 'completed', processed_lots: 4 });
    expectAllDescribed(lots, ['en']);
    expect(batches.map((b) => [b.part, b.status])).toEqual([
      [1, 'failed'],
      [2, 'completed'],
    ]);
    expect(batches[0].last_error).toMatch(/token_limit_exceeded/);
    expect(job.openai_batch_id).toBe(batches[1].openai_batch_id);
    expect(h!.emu.stats()).toMatchObject({ batchesCreated: 2, responsesCreated: 0 });
  });

  it('when token_limit_exceeded persists past BATCH_MAX_SUBMISSIONS the lots are done directly', async () => {
    const { job, lots, batches } = await run({ fail: 'token_limit_exceeded', match: { stage: 'vision' }, count: 5 }, ['en'], {
      VISION_STAGE_DEADLINE: '3600',
      BATCH_MAX_SUBMISSIONS: '2',
    });
    expect(job.status).toBe('completed');
    expectAllDescribed(lots, ['en']);
    expect(batches.map((b) => b.status)).toEqual(['failed', 'failed']);
    expect(h!.emu.stats()).toMatchObject({ batchesCreated: 2, responsesCreated: 4 });
  });
});
