import { insertBatchJob, lotRows, startPipeline, tickUntil, untilTerminal, type PipelineHarness } from '../pipeline/pipeline-support.js';

/** How a job ends, how its progress shows while it runs, and how the image check resumes. */
describe('job outcome and progress', () => {
  let h: PipelineHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('fails the job with a clear message when every lot fails, and still enqueues its webhook', async () => {
    h = await startPipeline();
    const jobId = await insertBatchJob(h.app.db, {
      languages: ['en'],
      lots: ['p', 'q'].map((lotId) => ({ lotId, images: [`${h!.images.url}/missing/${lotId}.jpg`], webhook: `${h!.images.url}/hook` })),
    });
    const job = await untilTerminal(h.app, h.app.db, jobId);
    expect(job).toMatchObject({ status: 'failed', current_stage: 'failed', processed_lots: 0, failed_lots: 2 });
    expect(job.error_message).toMatch(/^All 2 lot\(s\) failed\. First error: No usable image/);
    expect(job.completed_at).not.toBeNull();
    expect(h.emu.stats().batchesCreated).toBe(0);
    const deliveries = await h.app.db.query(`SELECT event FROM webhook_deliveries WHERE batch_job_id = $1`, [jobId]);
    expect(deliveries.length).toBeGreaterThan(0);
  });

  it('reports progress and an estimated completion while the batch runs', async () => {
    h = await startPipeline({ batchDurationMs: 3000 });
    const jobId = await insertBatchJob(h.app.db, {
      languages: ['en'],
      lots: Array.from({ length: 10 }, (_, i) => ({ lotId: `v${i}`, images: [`${h!.images.url}/img/${i}.jpg`] })),
    });
    const midway = await tickUntil(
      h.app,
      async () => {
        const row = await h!.app.db.query<{
          status: string;
          processed_lots: number;
          estimated_completion: Date | null;
          current_stage: string;
        }>(`SELECT status, processed_lots, estimated_completion, current_stage FROM batch_jobs WHERE id = $1`, [jobId]);
        return row[0].processed_lots > 0 && row[0].status === 'processing' ? row[0] : undefined;
      },
      { what: 'partial progress' },
    );
    expect(midway.current_stage).toBe('vision_analysis');
    expect(midway.processed_lots).toBeLessThan(10);
    expect(midway.estimated_completion!.getTime()).toBeGreaterThan(Date.now() - 1000);
    const job = await untilTerminal(h.app, h.app.db, jobId);
    expect(job).toMatchObject({ status: 'completed', processed_lots: 10 });
  });

  it('resumes an interrupted image check without fetching the checked lots again', async () => {
    h = await startPipeline();
    const url = (name: string) => `${h!.images.url}/img/${name}.jpg`;
    const jobId = await insertBatchJob(h.app.db, {
      languages: ['en'],
      lots: ['done-1', 'done-2', 'todo-1', 'todo-2'].map((lotId) => ({ lotId, images: [url(lotId)] })),
      deferred: true,
    });
    // A worker died after recording its first chunk.
    await h.app.db.query(
      `UPDATE batch_lots SET status = 'processing', processed_images = 1 WHERE batch_job_id = $1 AND lot_id LIKE 'done-%'`,
      [jobId],
    );
    await h.app.db.query(`UPDATE batch_jobs SET current_stage = 'image_check', next_check_at = now() WHERE id = $1`, [jobId]);

    const job = await untilTerminal(h.app, h.app.db, jobId);
    expect(job.status).toBe('completed');
    const checked = h.images.requests
      .filter((request) => request.headers['user-agent'] === 'Generation-Service/2.0')
      .map((request) => request.path);
    expect(checked.sort()).toEqual(['/img/todo-1.jpg', '/img/todo-2.jpg']);
    expect([...(await lotRows(h.app.db, jobId)).values()].map((lot) => lot.status)).toEqual([
      'completed',
      'completed',
      'completed',
      'completed',
    ]);
  });
});
