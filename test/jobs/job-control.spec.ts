import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { RetentionPurgeService } from '../../src/batch-monitor/retention-purge.service.js';
import { JobPipelineService } from '../../src/jobs/job-pipeline.service.js';
import { startLoopbackServer } from '../common/loopback-server.js';
import type { TestApp } from '../support/app.js';
import {
  insertBatchJob,
  jobRow,
  lotRows,
  openaiBatches,
  startSharedDatabase,
  tickFor,
  tickUntil,
  untilTerminal,
  type SharedDatabaseHarness,
} from '../pipeline/pipeline-support.js';
import { body, insertForeignJob } from './jobs-support.js';

/*
 * Issue 13, job control over real HTTP, real PostgreSQL and the emulator: one
 * API process and two worker processes on one database; the test ticks the
 * workers on top of their own loops (100 ms polls: a stage's next check is one poll away).
 */

let h: SharedDatabaseHarness;
let api: TestApp;
let workers: TestApp[];
let openai: OpenAI;

beforeAll(async () => {
  h = await startSharedDatabase(100);
  // Files are left at OpenAI after ingestion here (OPENAI_DELETE_FILES=false), so DELETE is what must remove them.
  const keepFiles = { OPENAI_DELETE_FILES: 'false' };
  api = await h.start({ APP_ROLE: 'api', RATE_LIMIT_BATCH: '10000', RATE_LIMIT_POLLING: '100000', ...keepFiles });
  workers = [await h.start({ APP_ROLE: 'worker', ...keepFiles }), await h.start({ APP_ROLE: 'worker', ...keepFiles })];
  openai = new OpenAI({ apiKey: 'sk-test', baseURL: h.emu.url, maxRetries: 0 });
});
afterAll(() => h.close());

const lotsFor = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    lot_id: `${prefix}-${i + 1}`,
    additional_info: `vehicle ${i + 1}`,
    images: [{ url: `${h.images.url}/img/${prefix}-${i + 1}.jpg` }],
  }));

async function create(extra: Record<string, unknown> = {}, count = 3, prefix = 'lot'): Promise<string> {
  const res = await api.postLots({ version: '1.0.0', languages: ['en', 'de'], lots: lotsFor(prefix, count), ...extra });
  const json = await body(res);
  if (res.status !== 201) throw new Error(`expected 201, got ${res.status}: ${JSON.stringify(json)}`);
  return json.job_id as string;
}

const send = (method: string, path: string, jobId: string, payload?: unknown, headers: Record<string, string> = {}) =>
  api.fetch(path, {
    method,
    signWith: jobId,
    headers: payload === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
const status = (jobId: string) => api.getJob(`/api/v1/batch-status/${jobId}`, jobId);
const list = (query: string) => api.fetch(`/api/v1/batch-jobs?${query}`, { signWith: query });
const claimOf = async (jobId: string) =>
  (
    await h.db.query<{ claim_token: string | null; paused: boolean }>(`SELECT claim_token, paused FROM batch_jobs WHERE id = $1`, [jobId])
  )[0];

describe('metadata and PATCH', () => {
  test('metadata is stored on creation and returned in status, the list and results; PATCH merges, null removes, name renames', async () => {
    const jobId = await create({ metadata: { auction: 'copart-1', run: 'night' } });
    const first = await body(await status(jobId));
    expect(first).toMatchObject({ job_id: jobId, name: null, metadata: { auction: 'copart-1', run: 'night' } });

    const patched = await send('PATCH', `/api/v1/batch-jobs/${jobId}`, jobId, { metadata: { run: null, lane: '7' }, name: 'Night run' });
    expect(patched.status).toBe(200);
    expect(await body(patched)).toMatchObject({ job_id: jobId, name: 'Night run', metadata: { auction: 'copart-1', lane: '7' } });
    expect((await body(await status(jobId))).metadata).toEqual({ auction: 'copart-1', lane: '7' });

    const other = await create({ metadata: { auction: 'copart-2' } });
    const filtered = await body(await list('metadata%5Bauction%5D=copart-1'));
    expect(filtered.jobs.map((job: { id: string }) => job.id)).toEqual([jobId]);
    expect(filtered.jobs[0]).toMatchObject({ name: 'Night run', metadata: { auction: 'copart-1', lane: '7' } });
    const both = await body(await list('metadata[auction]=copart-1&metadata[lane]=7'));
    expect(both.jobs.map((job: { id: string }) => job.id)).toEqual([jobId]);
    expect((await body(await list('metadata[auction]=copart-2'))).jobs.map((job: { id: string }) => job.id)).toEqual([other]);
    expect((await body(await list('metadata[auction]=copart-1&metadata[lane]=8'))).jobs).toEqual([]);
  });

  test.each([
    [{ metadata: { k: 5 } }, 'metadata.k: must be a string'],
    [{ metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }, 'metadata: at most 16 keys (got 17)'],
    [{ metadata: { ['x'.repeat(65)]: 'v' } }, 'keys must be 1 to 64 characters'],
    [{ metadata: { k: 'v'.repeat(513) } }, 'must be at most 512 characters'],
    [{ metadata: ['a'] }, 'metadata: must be an object of string values'],
  ])('creation refuses bad metadata %# with 400', async (extra, message) => {
    const res = await api.postLots({ lots: lotsFor('bad', 2), ...extra });
    expect(res.status).toBe(400);
    expect((await body(res)).message).toContain(message);
  });

  test('PATCH: 400 for bad bodies and a merge past 16 keys, 404 for another client, a bad signature is refused', async () => {
    const jobId = await create({ metadata: Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, 'v'])) });
    const over = await send('PATCH', `/api/v1/batch-jobs/${jobId}`, jobId, { metadata: { extra: 'v' } });
    expect(over.status).toBe(400);
    expect((await body(over)).message).toBe('metadata: at most 16 keys after the merge (would be 17)');
    expect((await send('PATCH', `/api/v1/batch-jobs/${jobId}`, jobId, { metadata: { k0: null, extra: 'v' } })).status).toBe(200);
    expect((await send('PATCH', `/api/v1/batch-jobs/${jobId}`, jobId, { colour: 'red' })).status).toBe(400);
    expect((await send('PATCH', `/api/v1/batch-jobs/${jobId}`, jobId, {})).status).toBe(400);
    expect((await send('PATCH', `/api/v1/batch-jobs/${jobId}`, jobId, { name: 7 })).status).toBe(400);

    const foreign = await insertForeignJob(h.db);
    const res = await send('PATCH', `/api/v1/batch-jobs/${foreign}`, foreign, { name: 'mine now' });
    expect(res.status).toBe(404);
    expect(await body(res)).toMatchObject({ code: 'JOB_NOT_FOUND' });
    const unsigned = await api.fetch(`/api/v1/batch-jobs/${jobId}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'x' }),
    });
    expect(unsigned.status).toBe(401);
    const wrong = await send('PATCH', `/api/v1/batch-jobs/${jobId}`, foreign, { name: 'x' });
    expect(wrong.status).toBe(403);
  });
});

describe('pause and resume', () => {
  test('a paused job holds no claim and makes no OpenAI call across two workers; resumed, it ingests its batch and finishes', async () => {
    // The emulator's counters are global: the earlier tests' jobs must not be running meanwhile.
    await h.db.query(
      `UPDATE batch_jobs SET status = 'cancelled', claim_token = NULL WHERE status IN ('pending', 'processing', 'translating')`,
    );
    const jobId = await create({}, 3, 'pause');
    // Paused once its vision batch is at OpenAI (usually still running there: 100 ms batches, 100 ms polls).
    await tickUntil(workers, async () => (await openaiBatches(h.db, jobId)).length > 0, { what: 'the vision batch' });

    const paused = await send('POST', `/api/v1/batch-jobs/${jobId}/pause`, jobId);
    expect(paused.status).toBe(200);
    expect(await body(paused)).toMatchObject({ job_id: jobId, status: 'paused' });
    // A worker in the middle of a step hands the claim back when the step ends.
    await tickUntil(workers, async () => (await claimOf(jobId)).claim_token === null, { what: 'the claim to be handed back' });

    const before = h.emu.stats();
    const stageBefore = (await jobRow(h.db, jobId)).current_stage;
    const openBefore = (await openaiBatches(h.db, jobId)).map((batch) => [batch.stage, batch.ingested_at]);
    // The vision batch finishes at the emulator meanwhile (100 ms); both workers tick for a while.
    await tickFor(workers, 1_000);
    expect(await claimOf(jobId)).toEqual({ claim_token: null, paused: true });
    const after = h.emu.stats();
    expect(after.batchesCreated).toBe(before.batchesCreated);
    expect(after.filesCreated).toBe(before.filesCreated);
    expect(after.responsesCreated).toBe(before.responsesCreated);
    expect(after.requests['GET /v1/files/:id/content'] ?? 0).toBe(before.requests['GET /v1/files/:id/content'] ?? 0);
    expect((await openaiBatches(h.db, jobId)).map((batch) => [batch.stage, batch.ingested_at])).toEqual(openBefore);
    expect((await jobRow(h.db, jobId)).current_stage).toBe(stageBefore);
    // Meanwhile the batch already at OpenAI ran to its end there.
    const [vision] = (await openaiBatches(h.db, jobId)).filter((batch) => batch.stage === 'vision');
    expect((await openai.batches.retrieve(vision.openai_batch_id)).status).toBe('completed');
    expect((await body(await status(jobId))).status).toBe('paused');
    expect((await body(await list('status=paused'))).jobs.map((job: { id: string }) => job.id)).toContain(jobId);
    expect((await body(await list('status=processing'))).jobs.map((job: { id: string }) => job.id)).not.toContain(jobId);

    const again = await send('POST', `/api/v1/batch-jobs/${jobId}/pause`, jobId);
    expect(again.status).toBe(409);
    expect(await body(again)).toMatchObject({ code: 'JOB_STATE_CONFLICT' });

    const resumed = await send('POST', `/api/v1/batch-jobs/${jobId}/resume`, jobId);
    expect(resumed.status).toBe(200);
    // Back to its stored status: processing, or translating when the step in flight at the pause had ingested the vision batch.
    expect(['processing', 'translating']).toContain((await body(resumed)).status);
    const job = await untilTerminal(workers, h.db, jobId);
    expect(job).toMatchObject({ status: 'completed', processed_lots: 3, failed_lots: 0 });
    expect((await openaiBatches(h.db, jobId)).map((batch) => [batch.stage, batch.part])).toEqual([
      ['translation', 1],
      ['vision', 1],
    ]);

    const resumeDone = await send('POST', `/api/v1/batch-jobs/${jobId}/resume`, jobId);
    expect(resumeDone.status).toBe(409);
    const pauseDone = await send('POST', `/api/v1/batch-jobs/${jobId}/pause`, jobId);
    expect(pauseDone.status).toBe(409);
    expect(await body(pauseDone)).toMatchObject({ code: 'JOB_STATE_CONFLICT', details: { status: 'completed' } });
  });

  test('a worker holding the claim loses it at its next fence once the job is paused, and hands it back', async () => {
    // Deferred (not due), then held by a live worker instance: no loop of the test's workers touches it.
    const jobId = await insertBatchJob(h.db, {
      languages: ['en'],
      lots: [{ lotId: 'f-1', images: [`${h.images.url}/img/f-1.jpg`] }],
      deferred: true,
    });
    const token = randomUUID();
    await h.db.query(`UPDATE batch_jobs SET claim_token = $2, claimed_by = $3, next_check_at = now() + interval '1 hour' WHERE id = $1`, [
      jobId,
      token,
      workers[0].config.instanceId,
    ]);
    const pipeline = workers[0].app.get(JobPipelineService);
    expect(await pipeline.fence({ jobId, token }, 60)).toBe(true);

    expect((await send('POST', `/api/v1/batch-jobs/${jobId}/pause`, jobId)).status).toBe(200);
    expect(await claimOf(jobId)).toEqual({ claim_token: token, paused: true }); // until the holder's next step boundary
    expect(await pipeline.fence({ jobId, token }, 60)).toBe(false);
    expect(await claimOf(jobId)).toEqual({ claim_token: null, paused: true });
    // Due now, yet nobody claims it while paused.
    const [{ due }] = await h.db.query<{ due: boolean }>(`SELECT next_check_at <= now() AS due FROM batch_jobs WHERE id = $1`, [jobId]);
    expect(due).toBe(true);
    const again = await pipeline.claimDue({ limit: 10, instanceId: workers[0].config.instanceId, liveInstanceIds: [], leaseSeconds: 60 });
    expect(again.map((row) => row.job.id)).not.toContain(jobId);
    expect((await send('POST', `/api/v1/batch-jobs/${jobId}/cancel`, jobId)).status).toBe(200);
  });

  test('404 for another client and for unknown ids', async () => {
    const foreign = await insertForeignJob(h.db);
    for (const action of ['pause', 'resume', 'retry']) {
      const res = await send('POST', `/api/v1/batch-jobs/${foreign}/${action}`, foreign);
      expect(res.status).toBe(404);
      expect(await body(res)).toMatchObject({ code: 'JOB_NOT_FOUND' });
    }
    expect((await send('DELETE', `/api/v1/batch-jobs/${foreign}`, foreign)).status).toBe(404);
    expect((await h.db.query(`SELECT 1 FROM batch_jobs WHERE id = $1`, [foreign])).length).toBe(1);
  });
});

describe('retry', () => {
  test('re-processes only the failed lots in the same job, counting attempts; 409 while active, 422 for lots not failed or not in the job', async () => {
    const jobId = await create({}, 3, 'retry');
    const active = await send('POST', `/api/v1/batch-jobs/${jobId}/retry`, jobId);
    expect(active.status).toBe(409);
    expect(await body(active)).toMatchObject({ code: 'JOB_STATE_CONFLICT' });
    await untilTerminal(workers, h.db, jobId);
    expect((await send('POST', `/api/v1/batch-jobs/${jobId}/retry`, jobId)).status).toBe(409); // nothing failed

    // Two lots failed (one at vision, one at translation, keeping its English text).
    await h.db.query(
      `UPDATE batch_lots SET status = 'failed', vision_result = CASE WHEN lot_id = 'retry-1' THEN NULL ELSE vision_result END,
              translations = NULL, error_message = 'refused' WHERE batch_job_id = $1 AND lot_id IN ('retry-1', 'retry-2')`,
      [jobId],
    );
    await h.db.query(`UPDATE batch_jobs SET processed_lots = 1, failed_lots = 2 WHERE id = $1`, [jobId]);
    const before = await lotRows(h.db, jobId);

    const unknown = await send('POST', `/api/v1/batch-jobs/${jobId}/retry`, jobId, { lot_ids: ['retry-1', 'nope'] });
    expect(unknown.status).toBe(422);
    expect(await body(unknown)).toMatchObject({ details: { unknown_lot_ids: ['nope'], not_failed_lot_ids: [] } });
    const notFailed = await send('POST', `/api/v1/batch-jobs/${jobId}/retry`, jobId, { lot_ids: ['retry-3'] });
    expect(notFailed.status).toBe(422);
    expect(await body(notFailed)).toMatchObject({ details: { unknown_lot_ids: [], not_failed_lot_ids: ['retry-3'] } });
    expect((await send('POST', `/api/v1/batch-jobs/${jobId}/retry`, jobId, { lot_ids: [] })).status).toBe(400);

    const retried = await send('POST', `/api/v1/batch-jobs/${jobId}/retry`, jobId, {}, { 'Idempotency-Key': '"retry-once"' });
    expect(retried.status).toBe(200);
    expect(await body(retried)).toMatchObject({ job_id: jobId, status: 'pending', retried_lots: 2 });
    const replay = await send('POST', `/api/v1/batch-jobs/${jobId}/retry`, jobId, {}, { 'Idempotency-Key': '"retry-once"' });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');

    const job = await untilTerminal(workers, h.db, jobId);
    expect(job).toMatchObject({ status: 'completed', processed_lots: 3, failed_lots: 0 });
    const lots = await lotRows(h.db, jobId);
    const attempts = await h.db.query<{ lot_id: string; attempts: number }>(
      `SELECT lot_id, attempts FROM batch_lots WHERE batch_job_id = $1 ORDER BY position`,
      [jobId],
    );
    expect(attempts).toEqual([
      { lot_id: 'retry-1', attempts: 2 },
      { lot_id: 'retry-2', attempts: 2 },
      { lot_id: 'retry-3', attempts: 1 },
    ]);
    expect([...lots.values()].every((lot) => lot.status === 'completed' && lot.translations?.de)).toBe(true);
    expect(lots.get('retry-3')!.vision_result).toBe(before.get('retry-3')!.vision_result);
    expect(lots.get('retry-2')!.vision_result).toBe(before.get('retry-2')!.vision_result); // translation only
    // A second vision batch for retry-1 only, a second translation batch for retry-1 and retry-2.
    const batches = await h.db.query<{ stage: string; part: number; request_count: number }>(
      `SELECT stage, part, request_count FROM openai_batches WHERE batch_job_id = $1 ORDER BY stage, part`,
      [jobId],
    );
    expect(batches).toEqual([
      { stage: 'translation', part: 1, request_count: 3 },
      { stage: 'translation', part: 2, request_count: 2 },
      { stage: 'vision', part: 1, request_count: 3 },
      { stage: 'vision', part: 2, request_count: 1 },
    ]);
  });
});

describe('DELETE', () => {
  test('a finished job: 204, nothing left at the emulator, the job and its rows gone, 404 afterwards', async () => {
    const jobId = await create({}, 2, 'delete');
    await untilTerminal(workers, h.db, jobId);
    const fileIds = (
      await h.db.query<{ input_file_id: string; output_file_id: string | null; error_file_id: string | null }>(
        `SELECT input_file_id, output_file_id, error_file_id FROM openai_batches WHERE batch_job_id = $1`,
        [jobId],
      )
    ).flatMap((row) => [row.input_file_id, row.output_file_id, row.error_file_id].filter((id): id is string => id !== null));
    expect(fileIds.length).toBeGreaterThanOrEqual(4);
    const atEmulator = async () => new Set((await openai.files.list()).data.map((file) => file.id));
    expect(fileIds.every((id) => [...fileIds].includes(id))).toBe(true);
    const present = await atEmulator();
    expect(fileIds.filter((id) => present.has(id))).toEqual(fileIds);

    const res = await send('DELETE', `/api/v1/batch-jobs/${jobId}`, jobId);
    expect(res.status).toBe(204);
    const left = await atEmulator();
    expect(fileIds.filter((id) => left.has(id))).toEqual([]);
    expect((await status(jobId)).status).toBe(404);
    expect(
      await h.db.query(`SELECT 1 FROM batch_lots WHERE batch_job_id = $1 UNION ALL SELECT 1 FROM openai_batches WHERE batch_job_id = $1`, [
        jobId,
      ]),
    ).toEqual([]);
    expect((await send('DELETE', `/api/v1/batch-jobs/${jobId}`, jobId)).status).toBe(404);
  });

  test('an active job with a batch running: cancelled at OpenAI, its files deleted, then gone', async () => {
    const jobId = await create({}, 2, 'delete-active');
    await tickUntil(workers, async () => (await openaiBatches(h.db, jobId)).length > 0, { what: 'the vision batch' });
    const [batch] = await openaiBatches(h.db, jobId);
    const res = await send('DELETE', `/api/v1/batch-jobs/${jobId}`, jobId);
    expect(res.status).toBe(204);
    const upstream = await openai.batches.retrieve(batch.openai_batch_id);
    expect(['cancelled', 'completed', 'failed', 'expired']).toContain(upstream.status);
    const left = new Set((await openai.files.list()).data.map((file) => file.id));
    expect([upstream.input_file_id, upstream.output_file_id, upstream.error_file_id].filter((id) => id && left.has(id))).toEqual([]);
    expect((await status(jobId)).status).toBe(404);
    // The workers find nothing to do for it.
    await tickFor(workers, 300);
    expect(await h.db.query(`SELECT 1 FROM batch_jobs WHERE id = $1`, [jobId])).toEqual([]);
  });
});

describe('retention purge', () => {
  test('deletes finished jobs older than RETENTION_DAYS with their files at OpenAI; keeps active and recent ones; 0 = off', async () => {
    const old = await create({}, 2, 'old');
    const recent = await create({}, 2, 'recent');
    await untilTerminal(workers, h.db, old);
    await untilTerminal(workers, h.db, recent);
    const oldActive = await insertBatchJob(h.db, { languages: ['en'], lots: [{ lotId: 'o-1', images: [] }], deferred: true });
    await h.db.query(`UPDATE batch_jobs SET created_at = now() - interval '100 days' WHERE id = ANY($1::uuid[])`, [[old, oldActive]]);
    const files = (
      await h.db.query<{ input_file_id: string; output_file_id: string | null }>(
        `SELECT input_file_id, output_file_id FROM openai_batches WHERE batch_job_id = $1`,
        [old],
      )
    ).flatMap((row) => [row.input_file_id, row.output_file_id].filter((id): id is string => id !== null));
    expect(files.length).toBeGreaterThan(0);

    // RETENTION_DAYS=0 (the test default): a run deletes nothing.
    await workers[0].app.get(RetentionPurgeService).runIfDue();
    expect(await h.db.query(`SELECT 1 FROM batch_jobs WHERE id = $1`, [old])).toHaveLength(1);

    const purged = await workers[0].app.get(RetentionPurgeService).purge(new Date(Date.now() - 90 * 86_400_000));
    expect(purged).toBe(1);
    const remaining = await h.db.query<{ id: string }>(`SELECT id FROM batch_jobs WHERE id = ANY($1::uuid[])`, [[old, recent, oldActive]]);
    expect(remaining.map((row) => row.id).sort()).toEqual([recent, oldActive].sort());
    const left = new Set((await openai.files.list()).data.map((file) => file.id));
    expect(files.filter((id) => left.has(id))).toEqual([]);
    expect((await status(old)).status).toBe(404);
  });
});

describe('job-control webhook events', () => {
  test('paused, resumed and retried go only to jobs that asked for them, signed, without lots; the terminal event goes again after a retry', async () => {
    const received: { event: string; status: string; lots: unknown[]; metadata: unknown; signature: string | undefined }[] = [];
    const receiver = await startLoopbackServer((request, response) => {
      const payload = JSON.parse(request.body.toString('utf8'));
      received.push({ ...payload, signature: request.headers['x-signature'] as string | undefined });
      response.writeHead(200).end('ok');
    });
    try {
      const hook = `${receiver.url}/hook`;
      const lotsWithHook = lotsFor('hooked', 2).map((lot) => ({ ...lot, webhook: hook }));
      const res = await api.postLots({
        languages: ['en'],
        lots: lotsWithHook,
        metadata: { run: 'hooks' },
        webhook_events: ['batch_job_paused', 'batch_job_resumed', 'batch_job_retried'],
      });
      expect(res.status).toBe(201);
      const jobId = (await body(res)).job_id as string;
      const quiet = await api.postLots({ languages: ['en'], lots: lotsFor('quiet', 2).map((lot) => ({ ...lot, webhook: hook })) });
      const quietId = (await body(quiet)).job_id as string;

      for (const id of [jobId, quietId]) {
        expect((await send('POST', `/api/v1/batch-jobs/${id}/pause`, id)).status).toBe(200);
        expect((await send('POST', `/api/v1/batch-jobs/${id}/resume`, id)).status).toBe(200);
      }
      await untilTerminal(workers, h.db, jobId);
      await untilTerminal(workers, h.db, quietId);
      await h.db.query(
        `UPDATE batch_lots SET status = 'failed', vision_result = NULL, error_message = 'refused' WHERE batch_job_id = $1 AND lot_id = 'hooked-1'`,
        [jobId],
      );
      expect((await send('POST', `/api/v1/batch-jobs/${jobId}/retry`, jobId)).status).toBe(200);
      await untilTerminal(workers, h.db, jobId);

      const events = async () =>
        await h.db.query<{ batch_job_id: string; event: string; status: string }>(
          `SELECT batch_job_id, event, status FROM webhook_deliveries WHERE batch_job_id = ANY($1::uuid[]) ORDER BY created_at, event`,
          [[jobId, quietId]],
        );
      await tickUntil(workers, async () => (await events()).every((row) => row.status === 'delivered') && received.length >= 6, {
        what: 'the deliveries',
      });
      const rows = await events();
      expect(rows.filter((row) => row.batch_job_id === quietId).map((row) => row.event)).toEqual(['batch_job_completed']);
      expect(rows.filter((row) => row.batch_job_id === jobId).map((row) => row.event)).toEqual([
        'batch_job_paused',
        'batch_job_resumed',
        'batch_job_completed',
        'batch_job_retried',
        'batch_job_completed',
      ]);
      const paused = received.find((payload) => payload.event === 'batch_job_paused')!;
      expect(paused).toMatchObject({ status: 'paused', lots: [], metadata: { run: 'hooks' } });
      expect(paused.signature).toMatch(/^sha256=[0-9a-f]{64}$/);
      const completed = received.filter(
        (payload) => payload.event === 'batch_job_completed' && (payload as unknown as { job_id: string }).job_id === jobId,
      );
      expect(completed).toHaveLength(2);
      expect(completed.every((payload) => payload.lots.length === 2)).toBe(true);
    } finally {
      await receiver.close();
    }
  });

  test('an unknown event name is refused with 400', async () => {
    const res = await api.postLots({ lots: lotsFor('ev', 2), webhook_events: ['batch_job_exploded'] });
    expect(res.status).toBe(400);
    expect((await body(res)).message).toContain('webhook_events: must be an array of event names');
  });
});
