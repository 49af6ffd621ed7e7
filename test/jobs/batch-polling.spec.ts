import { startTestApp, type TestApp } from '../support/app.js';
import { body, createBatch, finishJob, insertForeignJob, lot, lots, statusSynced } from './jobs-support.js';

/** A job that has made no OpenAI call yet: no usage, no cost (issue 13). */
const NO_USAGE = { input_tokens: 0, cached_input_tokens: 0, output_tokens: 0, reasoning_tokens: 0, by_stage: [] };
const NO_COST = { total_usd: 0, currency: 'USD', prices_as_of: expect.stringMatching(/^\d{4}-\d\d-\d\d$/) as unknown, unpriced_models: [] };

/*
 * Batch creation as stored, and every polling route: status, results (202 →
 * 200), streamed download, the authenticated aliases of reference 003, and
 * client scoping. The worker does not run here (APP_ROLE=api); the tests
 * write what the pipeline would (finishJob) to reach the finished states.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { APP_ROLE: 'api', RATE_LIMIT_BATCH: '10000' } });
});
afterAll(() => t.close());

const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
const UUID = expect.stringMatching(/^[0-9a-f-]{36}$/);

test('201 answer of reference 002, and the job with all its lots stored in request order', async () => {
  const webhook = 'https://hooks.example.com/done';
  const res = await t.postLots({
    version: '1.2.3',
    languages: ['en', 'fr', 'de'],
    lots: [
      lot('batch-001', { webhook, additional_info: 'Mercedes' }),
      lot('batch-002', { additional_info: null, images: [{ url: 'http://a.example/1.jpg' }, { url: 'http://a.example/2.jpg' }] }),
    ],
  });
  expect(res.status).toBe(201);
  const json = await body(res);
  expect(json).toEqual({
    job_id: UUID,
    status: 'accepted',
    created_at: ISO,
    total_lots: 2,
    languages: ['en', 'fr', 'de'],
    estimated_completion: ISO,
    processing_mode: 'batch',
    webhook_configured: true,
  });
  expect(Date.parse(json.estimated_completion)).toBeGreaterThan(Date.parse(json.created_at));

  const [job] = await t.db.query('SELECT * FROM batch_jobs WHERE id = $1', [json.job_id]);
  expect(job).toMatchObject({
    client_id: 'default',
    status: 'pending',
    processing_mode: 'batch',
    current_stage: 'queued',
    version: '1.2.3',
    languages: ['en', 'fr', 'de'],
    total_lots: 2,
    processed_lots: 0,
    failed_lots: 0,
    webhook_configured: true,
  });
  expect(job.next_check_at.getTime()).toBeLessThanOrEqual(Date.now());
  const stored = await t.db.query(
    'SELECT position, lot_id, additional_info, webhook_url, images, status FROM batch_lots WHERE batch_job_id = $1 ORDER BY position',
    [json.job_id],
  );
  expect(stored).toEqual([
    {
      position: 0,
      lot_id: 'batch-001',
      additional_info: 'Mercedes',
      webhook_url: webhook,
      images: [{ url: 'https://img.example.com/batch-001/1.jpg' }],
      status: 'pending',
    },
    {
      position: 1,
      lot_id: 'batch-002',
      additional_info: null,
      webhook_url: null,
      images: [{ url: 'http://a.example/1.jpg' }, { url: 'http://a.example/2.jpg' }],
      status: 'pending',
    },
  ]);
});

test('a request larger than one insert chunk keeps every lot, in order', async () => {
  const jobId = await createBatch(t, 12_345, { languages: ['en'] });
  const [stats] = await t.db.query(
    `SELECT count(*)::int AS n, min(position) AS lo, max(position) AS hi,
            bool_and(lot_id = 'lot-' || (position + 1)) AS ordered FROM batch_lots WHERE batch_job_id = $1`,
    [jobId],
  );
  expect(stats).toEqual({ n: 12_345, lo: 0, hi: 12_344, ordered: true });
});

test('batch-status and its alias: the status body of reference 002', async () => {
  const jobId = await createBatch(t, 3);
  const expected = {
    job_id: jobId,
    status: 'pending',
    processing_mode: 'batch',
    created_at: ISO,
    updated_at: ISO,
    progress: { total_lots: 3, processed_lots: 0, failed_lots: 0, completion_percentage: 0, estimated_completion: ISO },
    languages: ['en', 'de'],
    processing_details: { openai_vision_batch_id: null, openai_translation_batch_id: null, current_stage: 'queued' },
    error_message: null,
    webhook_configured: false,
    name: null,
    metadata: {},
    usage: NO_USAGE,
    cost: NO_COST,
  };
  for (const path of [`/api/v1/batch-status/${jobId}`, `/api/v1/jobs/${jobId}/status`]) {
    const res = await t.getJob(path, jobId);
    expect(res.status).toBe(200);
    expect(await body(res)).toEqual(expected);
  }

  await t.db.query(
    `UPDATE batch_jobs SET status = 'processing', current_stage = 'vision_analysis', processed_lots = 1, failed_lots = 1, openai_batch_id = 'batch_v' WHERE id = $1`,
    [jobId],
  );
  await statusSynced(t); // the answer above is cached until the update's notification has arrived
  const progressed = await body(await t.getJob(`/api/v1/batch-status/${jobId}`, jobId));
  expect(progressed.progress).toMatchObject({ processed_lots: 1, failed_lots: 1, completion_percentage: 66.7 });
  expect(progressed.processing_details).toEqual({
    openai_vision_batch_id: 'batch_v',
    openai_translation_batch_id: null,
    current_stage: 'vision_analysis',
  });
});

test('results of an active job: 202 with progress, on both routes and the download', async () => {
  const jobId = await createBatch(t, 2);
  for (const path of [`/api/v1/batch-results/${jobId}`, `/api/v1/jobs/${jobId}`, `/api/v1/batch-results/${jobId}/download`]) {
    const res = await t.getJob(path, jobId);
    expect(res.status).toBe(202);
    expect(res.headers.get('content-disposition')).toBeNull();
    expect(await body(res)).toEqual({
      error: 'Job not completed',
      status: 'pending',
      job_id: jobId,
      progress: { total_lots: 2, processed_lots: 0, failed_lots: 0, completion_percentage: 0, estimated_completion: ISO },
      message: "Job is currently pending. Results will be available when status is 'completed'.",
    });
  }
});

test('results of a completed job: 200 with the body of reference 002; the download is the same JSON as an attachment', async () => {
  const jobId = await createBatch(t, 4);
  await finishJob(t.db, jobId);
  const res = await t.getJob(`/api/v1/batch-results/${jobId}`, jobId);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const results = await body(res);
  const done = (n: number, position: number) => ({
    lot_id: `lot-${n}`,
    status: 'completed',
    processed_at: new Date(Date.parse('2025-08-05T08:10:00Z') + position * 1000).toISOString(),
    processed_images: 2,
    descriptions: [
      { language: 'en', damages: `<p>Damage of lot-${n}</p>` },
      { language: 'de', damages: `<p>[de] Schaden lot-${n}</p>` },
    ],
    missing_images: position === 0 ? ['https://img.example.com/missing.jpg'] : [],
    error: null,
  });
  expect(results).toEqual({
    job_id: jobId,
    status: 'completed',
    completed_at: '2025-08-05T08:15:00.000Z',
    processing_summary: {
      total_lots: 4,
      processed_lots: 3,
      failed_lots: 1,
      total_images_processed: 6,
      total_processing_time: '45 minutes',
      usage: NO_USAGE,
      cost: NO_COST,
    },
    error_message: null,
    name: null,
    metadata: {},
    results: {
      version: '1.0.0',
      lots: [
        done(1, 0),
        done(2, 1),
        {
          lot_id: 'lot-3',
          status: 'failed',
          processed_at: '2025-08-05T08:10:02.000Z',
          processed_images: 0,
          descriptions: [],
          missing_images: [],
          error: "Vision analysis failed (refusal): I'm sorry",
        },
        done(4, 3),
      ],
    },
  });
  expect(await body(await t.getJob(`/api/v1/jobs/${jobId}`, jobId))).toEqual(results);

  const download = await t.getJob(`/api/v1/batch-results/${jobId}/download`, jobId);
  expect(download.status).toBe(200);
  expect(download.headers.get('content-disposition')).toBe(`attachment; filename="batch_results_${jobId}.json"`);
  expect(JSON.parse(await download.text())).toEqual(results);
});

test('the download streams thousands of lots across many pages, in order, as valid JSON', async () => {
  const jobId = await createBatch(t, 2_500);
  await finishJob(t.db, jobId);
  const res = await t.getJob(`/api/v1/batch-results/${jobId}/download`, jobId);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-length')).toBeNull(); // chunked: written page by page, never buffered whole
  const json = await body(res);
  expect(json.results.lots).toHaveLength(2_500);
  expect(json.results.lots.map((l: { lot_id: string }) => l.lot_id)).toEqual(lots(2_500).map((l) => l.lot_id));
  expect(json.processing_summary).toMatchObject({ processed_lots: 1_667, failed_lots: 833 });
});

test('a failed job answers 200 with its status and the lots finished so far, not a 202 forever', async () => {
  const jobId = await createBatch(t, 3);
  await finishJob(t.db, jobId, 'failed');
  await t.db.query(`UPDATE batch_jobs SET error_message = 'translation deadline passed' WHERE id = $1`, [jobId]);
  const json = await body(await t.getJob(`/api/v1/batch-results/${jobId}`, jobId));
  expect(json).toMatchObject({ job_id: jobId, status: 'failed', error_message: 'translation deadline passed' });
  expect(json.results.lots.map((l: { status: string }) => l.status)).toEqual(['completed', 'completed', 'failed']);
});

describe('authentication and scoping', () => {
  test('unknown, malformed and foreign job ids are 404 JOB_NOT_FOUND on every route', async () => {
    const foreign = await insertForeignJob(t.db);
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', foreign]) {
      for (const path of [
        `/api/v1/batch-status/${id}`,
        `/api/v1/jobs/${id}/status`,
        `/api/v1/batch-results/${id}`,
        `/api/v1/jobs/${id}`,
        `/api/v1/batch-results/${id}/download`,
      ]) {
        const res = await t.getJob(path, id);
        expect({ path, status: res.status }).toEqual({ path, status: 404 });
        expect(await body(res)).toEqual({ error: 'Job not found', message: `Job ${id} not found`, code: 'JOB_NOT_FOUND' });
      }
      const cancel = await t.fetch(`/api/v1/batch-jobs/${id}/cancel`, { method: 'POST', signWith: id });
      expect(cancel.status).toBe(404);
    }
    const [row] = await t.db.query('SELECT status FROM batch_jobs WHERE id = $1', [foreign]);
    expect(row.status).toBe('processing'); // the foreign job was not cancelled
  });

  test('the aliases of reference 003 are authenticated like everything else', async () => {
    const jobId = await createBatch(t, 2);
    for (const path of [
      `/api/v1/jobs/${jobId}/status`,
      `/api/v1/jobs/${jobId}`,
      `/api/v1/batch-status/${jobId}`,
      `/api/v1/batch-results/${jobId}/download`,
    ]) {
      const unsigned = await t.fetch(path);
      expect(unsigned.status).toBe(401);
      expect((await body(unsigned)).code).toBe('MISSING_SIGNATURE');
      const wrong = await t.fetch(path, { signWith: '00000000-0000-4000-8000-000000000000' });
      expect(wrong.status).toBe(403);
      expect((await body(wrong)).code).toBe('INVALID_SIGNATURE');
    }
  });
});
