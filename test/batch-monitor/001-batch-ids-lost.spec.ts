import { BatchReconcilerService } from '../../src/batch-monitor/batch-reconciler.service.js';
import { BatchSubmitStage } from '../../src/batch-monitor/batch-submit.stage.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import type { LoopbackServer } from '../common/loopback-server.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import {
  insertBatchJob, jobRow, openaiBatches, pipelineEnv, startImageHost, tickUntil, untilTerminal,
} from '../pipeline/pipeline-support.js';

/**
 * Reference 001: batch ids written to the wrong column, so seven jobs never
 * learnt their OpenAI batch and never finished. Here a batch whose id never
 * reaches the database — the process dies between "OpenAI created it" and
 * "we saved it" — is found again through its metadata, and the job follows
 * it instead of paying for a second batch.
 */
describe('001 — batch ids lost', () => {
  let emu: RunningEmulator;
  let images: LoopbackServer;
  let db: TestDatabase;
  const apps: TestApp[] = [];

  beforeEach(async () => {
    emu = await startEmulator({ port: 0, batchDurationMs: 100 });
    images = await startImageHost();
    db = await createTestDatabase();
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close().catch(() => undefined);
    await images.close();
    await emu.close();
    await db.drop();
  });

  const start = async (env: Record<string, string>) => {
    const app = await startTestApp({ db, openaiBaseUrl: emu.url, env: pipelineEnv(env) });
    apps.push(app);
    return app;
  };

  /**
   * Runs a worker that "dies" right after OpenAI created the vision batch:
   * the batch exists upstream, no row records it, and the job is left in
   * `vision_submitting`. Its own loop is slowed down so it does not recover by itself.
   */
  async function crashBetweenCreateAndSave(): Promise<string> {
    const doomed = await start({ WORKER_POLL_INTERVAL: '3600', BATCH_RECONCILE_INTERVAL: '3600' });
    doomed.app.get(BatchSubmitStage).hooks.afterCreated = () => {
      throw new Error('simulated crash between create and save');
    };
    const jobId = await insertBatchJob(db, {
      languages: ['en'],
      lots: ['a', 'b', 'c'].map((lotId) => ({ lotId, additionalInfo: `lot ${lotId}`, images: [`${images.url}/img/${lotId}.jpg`] })),
    });
    await tickUntil(doomed, async () => emu.stats().batchesCreated === 1, { what: 'the vision batch to be created' });
    await doomed.close();
    apps.splice(apps.indexOf(doomed), 1);

    expect(await openaiBatches(db, jobId)).toEqual([]);
    expect(await jobRow(db, jobId)).toMatchObject({ current_stage: 'vision_submitting', openai_batch_id: null });
    return jobId;
  }

  it('a fresh process reconciles the interrupted submission and follows that batch (no duplicate)', async () => {
    const jobId = await crashBetweenCreateAndSave();
    // What the crashed worker's lease expiring amounts to: the job is due again.
    await db.query(`UPDATE batch_jobs SET next_check_at = now() WHERE id = $1`, [jobId]);

    const fresh = await start({ BATCH_RECONCILE_INTERVAL: '3600' });
    const job = await untilTerminal(fresh, db, jobId);

    expect(job.status).toBe('completed');
    expect(job.processed_lots).toBe(3);
    expect(emu.stats().batchesCreated).toBe(1);
    const batches = await openaiBatches(db, jobId);
    expect(batches).toHaveLength(1);
    expect(job.openai_batch_id).toBe(batches[0].openai_batch_id);
  });

  it('the reconciliation sweep re-attaches the orphan batch by its metadata', async () => {
    const jobId = await crashBetweenCreateAndSave();
    const fresh = await start({ BATCH_RECONCILE_INTERVAL: '3600' });
    // The job is not due (the crashed worker's backoff): only the sweep can find the batch.
    await fresh.app.get(BatchReconcilerService).sweep();

    const [attached] = await openaiBatches(db, jobId);
    expect(attached).toMatchObject({ stage: 'vision', part: 1 });
    expect(attached.reconciled_at).not.toBeNull();
    expect((await jobRow(db, jobId)).openai_batch_id).toBe(attached.openai_batch_id);

    await db.query(`UPDATE batch_jobs SET next_check_at = now() WHERE id = $1`, [jobId]);
    const job = await untilTerminal(fresh, db, jobId);
    expect(job).toMatchObject({ status: 'completed', processed_lots: 3 });
    expect(emu.stats().batchesCreated).toBe(1);
    expect(await openaiBatches(db, jobId)).toHaveLength(1);
  });
});
