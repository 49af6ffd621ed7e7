import OpenAI, { toFile } from 'openai';
import { startEmulator, type RunningEmulator } from '../../src/emulator/emulator.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { body, createBatch, finishJob, insertForeignJob } from './jobs-support.js';

/* GET /batch-jobs (filters, pagination, validation) and POST /batch-jobs/{id}/cancel (states, races, OpenAI). */

let emu: RunningEmulator;
let t: TestApp;
beforeAll(async () => {
  emu = await startEmulator({ port: 0, batchDurationMs: 60_000 });
  t = await startTestApp({ env: { APP_ROLE: 'api', RATE_LIMIT_BATCH: '10000' }, openaiBaseUrl: emu.url });
});
afterAll(async () => {
  await t.close();
  await emu.close();
});

const list = (query: string) => t.fetch(`/api/v1/batch-jobs${query ? `?${query}` : ''}`, { signWith: query });

describe('GET /batch-jobs', () => {
  let ids: string[];
  beforeAll(async () => {
    await insertForeignJob(t.db);
    ids = [];
    for (let i = 0; i < 4; i++) ids.push(await createBatch(t, 2));
    // Oldest first: ids[0] on Aug 1 … ids[3] on Aug 4.
    for (const [i, id] of ids.entries()) {
      await t.db.query(`UPDATE batch_jobs SET created_at = $2 WHERE id = $1`, [id, new Date(Date.UTC(2025, 7, 1 + i, 12))]);
    }
    await t.db.query(`UPDATE batch_jobs SET status = 'processing', processed_lots = 1 WHERE id = $1`, [ids[1]]);
  });

  test("lists only the client's jobs, newest first, in the item shape of reference 002", async () => {
    const res = await list('');
    expect(res.status).toBe(200);
    const json = await body(res);
    expect(json.jobs.map((job: { id: string }) => job.id)).toEqual([...ids].reverse());
    expect(json.pagination).toEqual({ limit: 10, offset: 0, total: 4, has_more: false });
    expect(json.jobs[2]).toEqual({
      id: ids[1],
      status: 'processing',
      processing_mode: 'batch',
      created_at: '2025-08-02T12:00:00.000Z',
      updated_at: expect.any(String),
      total_lots: 2,
      processed_lots: 1,
      failed_lots: 0,
      languages: ['en', 'de'],
      progress: { completion_percentage: 50, estimated_completion: expect.any(String) },
      webhook_configured: false,
      name: null,
      metadata: {},
      // No OpenAI call recorded for it: nothing spent (issue 13).
      cost: { total_usd: 0, currency: 'USD', prices_as_of: expect.stringMatching(/^\d{4}-\d\d-\d\d$/) as unknown, unpriced_models: [] },
    });
  });

  test('status, created_after (inclusive), created_before (exclusive), limit and offset', async () => {
    const ofQuery = async (query: string) => {
      const json = await body(await list(query));
      return { ids: json.jobs.map((job: { id: string }) => job.id), pagination: json.pagination };
    };
    expect((await ofQuery('status=processing')).ids).toEqual([ids[1]]);
    expect((await ofQuery('status=completed')).ids).toEqual([]);
    expect((await ofQuery('created_after=2025-08-02T12:00:00Z&created_before=2025-08-04T12:00:00Z')).ids).toEqual([ids[2], ids[1]]);
    expect(await ofQuery('limit=2&offset=1')).toEqual({
      ids: [ids[2], ids[1]],
      pagination: { limit: 2, offset: 1, total: 4, has_more: true },
    });
    expect(await ofQuery('limit=2&offset=2')).toEqual({
      ids: [ids[1], ids[0]],
      pagination: { limit: 2, offset: 2, total: 4, has_more: false },
    });
    expect(await ofQuery('limit=100&offset=10')).toEqual({ ids: [], pagination: { limit: 100, offset: 10, total: 4, has_more: false } });
  });

  test.each([
    ['limit=0', 'limit: limit must not be less than 1'],
    ['limit=101', 'limit: limit must not be greater than 100'],
    ['limit=ten', 'limit: limit must be an integer number'],
    ['offset=-1', 'offset: offset must not be less than 0'],
    ['status=done', 'status: status must be one of: pending, processing, translating, completed, failed, cancelled, paused'],
    ['created_after=yesterday', 'created_after: created_after must be an ISO 8601 timestamp, e.g. 2025-08-05T07:30:00Z'],
  ])('bad filter %s → 400 VALIDATION_FAILED', async (query, problem) => {
    const res = await list(query);
    expect(res.status).toBe(400);
    const json = await body(res);
    expect(json).toMatchObject({ error: 'Validation failed', code: 'VALIDATION_FAILED' });
    expect(json.details.problems).toContain(problem);
  });

  test('the signature covers the raw query string', async () => {
    expect((await t.fetch('/api/v1/batch-jobs?status=processing')).status).toBe(401);
    expect((await t.fetch('/api/v1/batch-jobs?status=processing', { signWith: 'status=completed' })).status).toBe(403);
  });
});

describe('POST /batch-jobs/{job_id}/cancel', () => {
  const cancel = (id: string) => t.fetch(`/api/v1/batch-jobs/${id}/cancel`, { method: 'POST', signWith: id });

  test('an active job → 200; unfinished lots cancelled, finished ones kept; its OpenAI batch cancelled', async () => {
    const jobId = await createBatch(t, 3);
    await t.db.query(`UPDATE batch_jobs SET status = 'processing', current_stage = 'vision_analysis' WHERE id = $1`, [jobId]);
    await t.db.query(`UPDATE batch_lots SET status = 'completed', vision_result = '<p>ok</p>' WHERE batch_job_id = $1 AND position = 0`, [
      jobId,
    ]);
    const openai = new OpenAI({ apiKey: 'sk-test', baseURL: emu.url });
    const file = await openai.files.create({
      file: await toFile(
        Buffer.from('{"custom_id":"a","method":"POST","url":"/v1/responses","body":{"model":"gpt-4.1-mini","input":"hi"}}\n'),
        'in.jsonl',
      ),
      purpose: 'batch',
    });
    const batch = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h' });
    await t.db.query(
      `INSERT INTO openai_batches (batch_job_id, stage, openai_batch_id, input_file_id, status, request_count) VALUES ($1, 'vision', $2, $3, 'in_progress', 1)`,
      [jobId, batch.id, file.id],
    );

    const res = await cancel(jobId);
    expect(res.status).toBe(200);
    const json = await body(res);
    expect(json).toEqual({
      job_id: jobId,
      status: 'cancelled',
      cancelled_at: expect.stringMatching(/Z$/),
      message: 'Job successfully cancelled',
    });

    const [job] = await t.db.query('SELECT status, current_stage, cancelled_at FROM batch_jobs WHERE id = $1', [jobId]);
    expect(job).toEqual({ status: 'cancelled', current_stage: 'cancelled', cancelled_at: new Date(json.cancelled_at) });
    const lotRows = await t.db.query('SELECT status FROM batch_lots WHERE batch_job_id = $1 ORDER BY position', [jobId]);
    expect(lotRows.map((row) => row.status)).toEqual(['completed', 'cancelled', 'cancelled']);
    expect(['cancelling', 'cancelled']).toContain((await openai.batches.retrieve(batch.id)).status);
    const [recorded] = await t.db.query('SELECT cancel_requested_at FROM openai_batches WHERE openai_batch_id = $1', [batch.id]);
    expect(recorded.cancel_requested_at).toBeInstanceOf(Date);

    const status = await body(await t.getJob(`/api/v1/batch-status/${jobId}`, jobId));
    expect(status).toMatchObject({ status: 'cancelled', processing_details: { current_stage: 'cancelled' } });
  });

  test('a terminal job → 400 with the body of reference 002 plus code', async () => {
    const jobId = await createBatch(t, 2);
    await finishJob(t.db, jobId);
    const res = await cancel(jobId);
    expect(res.status).toBe(400);
    expect(await body(res)).toEqual({
      error: 'Job cannot be cancelled',
      status: 'completed',
      message: 'Only pending, processing, or translating jobs can be cancelled. Current status: completed',
      code: 'JOB_NOT_CANCELLABLE',
    });
    const [row] = await t.db.query('SELECT status FROM batch_jobs WHERE id = $1', [jobId]);
    expect(row.status).toBe('completed');
  });

  test('concurrent cancels of one job: exactly one wins, the others see it cancelled', async () => {
    const jobId = await createBatch(t, 2);
    const answers = await Promise.all([cancel(jobId), cancel(jobId), cancel(jobId), cancel(jobId)]);
    expect(answers.map((res) => res.status).sort()).toEqual([200, 400, 400, 400]);
    const losers = await Promise.all(answers.filter((res) => res.status === 400).map(body));
    for (const loser of losers) expect(loser).toMatchObject({ status: 'cancelled', code: 'JOB_NOT_CANCELLABLE' });
  });

  test('a job the worker has completed is not cancelled, and its lots are left alone', async () => {
    const jobId = await createBatch(t, 2);
    await t.db.query(`UPDATE batch_jobs SET status = 'completed' WHERE id = $1`, [jobId]);
    expect((await cancel(jobId)).status).toBe(400);
    const lotRows = await t.db.query('SELECT status FROM batch_lots WHERE batch_job_id = $1', [jobId]);
    expect(lotRows.every((row) => row.status === 'pending')).toBe(true);
  });
});
