import { BatchReconcilerService } from '../../src/batch-monitor/batch-reconciler.service.js';
import {
  insertBatchJob,
  jobRow,
  openaiBatches,
  startSharedDatabase,
  tickUntil,
  untilTerminal,
  type SharedDatabaseHarness,
} from '../pipeline/pipeline-support.js';

/**
 * Reference 001: batch ids written to the wrong column, so seven jobs never
 * learnt their OpenAI batch and never finished. Here a batch whose id never
 * reaches the database — the process dies between "OpenAI created it" and
 * "we saved it" — is found again through its metadata, and the job follows
 * it instead of paying for a second batch.
 */
describe('001 — batch ids lost', () => {
  let h: SharedDatabaseHarness;
  beforeEach(async () => {
    h = await startSharedDatabase();
  });
  afterEach(() => h.close());

  /**
   * Runs a worker that "dies" right after OpenAI created the vision batch:
   * the batch exists upstream, no row records it, and the job is left in
   * `vision_submitting`. Its own loop is slowed down so it does not recover by itself.
   * The crash is injected in the database, not in the service: while the
   * doomed worker runs, PostgreSQL refuses every `openai_batches` row, so the
   * save right after OpenAI's answer fails and rolls back.
   */
  async function crashBetweenCreateAndSave(): Promise<string> {
    await h.db.query(`CREATE FUNCTION refuse_batch_row() RETURNS trigger LANGUAGE plpgsql AS $$
                        BEGIN RAISE EXCEPTION 'simulated crash between create and save'; END $$`);
    await h.db.query(`CREATE TRIGGER refuse_batch_row BEFORE INSERT ON openai_batches FOR EACH ROW EXECUTE FUNCTION refuse_batch_row()`);
    const doomed = await h.start({ WORKER_POLL_INTERVAL: '3600', BATCH_RECONCILE_INTERVAL: '3600' });
    const jobId = await insertBatchJob(h.db, {
      languages: ['en'],
      lots: ['a', 'b', 'c'].map((lotId) => ({ lotId, additionalInfo: `lot ${lotId}`, images: [`${h.images.url}/img/${lotId}.jpg`] })),
    });
    await tickUntil(doomed, async () => h.emu.stats().batchesCreated === 1, { what: 'the vision batch to be created' });
    await h.stop(doomed);
    await h.db.query(`DROP TRIGGER refuse_batch_row ON openai_batches`);
    await h.db.query(`DROP FUNCTION refuse_batch_row()`);

    expect(await openaiBatches(h.db, jobId)).toEqual([]);
    expect(await jobRow(h.db, jobId)).toMatchObject({ current_stage: 'vision_submitting', openai_batch_id: null });
    return jobId;
  }

  it('a fresh process reconciles the interrupted submission and follows that batch (no duplicate)', async () => {
    const jobId = await crashBetweenCreateAndSave();
    // What the crashed worker's lease expiring amounts to: the job is due again.
    await h.db.query(`UPDATE batch_jobs SET next_check_at = now() WHERE id = $1`, [jobId]);

    const fresh = await h.start({ BATCH_RECONCILE_INTERVAL: '3600' });
    const job = await untilTerminal(fresh, h.db, jobId);

    expect(job.status).toBe('completed');
    expect(job.processed_lots).toBe(3);
    expect(h.emu.stats().batchesCreated).toBe(1);
    const batches = await openaiBatches(h.db, jobId);
    expect(batches).toHaveLength(1);
    expect(job.openai_batch_id).toBe(batches[0].openai_batch_id);
  });

  it('the reconciliation sweep re-attaches the orphan batch by its metadata', async () => {
    const jobId = await crashBetweenCreateAndSave();
    const fresh = await h.start({ BATCH_RECONCILE_INTERVAL: '3600' });
    // The job is not due (the crashed worker's backoff): only the sweep can find the batch.
    await fresh.app.get(BatchReconcilerService).sweep();

    const [attached] = await openaiBatches(h.db, jobId);
    expect(attached).toMatchObject({ stage: 'vision', part: 1 });
    expect(attached.reconciled_at).not.toBeNull();
    expect((await jobRow(h.db, jobId)).openai_batch_id).toBe(attached.openai_batch_id);

    await h.db.query(`UPDATE batch_jobs SET next_check_at = now() WHERE id = $1`, [jobId]);
    const job = await untilTerminal(fresh, h.db, jobId);
    expect(job).toMatchObject({ status: 'completed', processed_lots: 3 });
    expect(h.emu.stats().batchesCreated).toBe(1);
    expect(await openaiBatches(h.db, jobId)).toHaveLength(1);
  });
});
