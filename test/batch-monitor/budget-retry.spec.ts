import { describeDamage, translateHtml } from '../../src/emulator/text-generator.js';
import { body, lot } from '../jobs/jobs-support.js';
import {
  insertBatchJob,
  jobRow,
  lotRows,
  startPipeline,
  untilTerminal,
  type LotRow,
  type PipelineHarness,
} from '../pipeline/pipeline-support.js';

type Row = LotRow & { budget_retries: unknown[] };

/**
 * Issue 16: reasoning tokens count against max_output_tokens. An answer cut
 * there (status incomplete, reason max_output_tokens, reasoning billed, maybe
 * no message) earns its lot one retry with twice the budget — recorded on the
 * lot and counted in usage — before the lot fails with the reason. The
 * emulator's `[emulator:deep-reasoning]` thinks 30,000 tokens: more than the
 * default 25,000, less than 50,000. `[emulator:incomplete]` is always cut.
 */
describe('issue 16 — one retry with a larger budget for answers cut at max_output_tokens', () => {
  let h: PipelineHarness;
  beforeAll(async () => {
    h = await startPipeline();
  });
  afterAll(() => h?.close());
  afterEach(() => h.emu.faults.reset());

  const image = (name: string) => `${h.images.url}/img/${name}.jpg`;
  const BUDGET = { reason: 'max_output_tokens', max_output_tokens: 25_000, retry_max_output_tokens: 50_000, at: expect.any(String) };
  const keys = ['input_tokens', 'output_tokens', 'reasoning_tokens', 'total_tokens'] as const;

  it('batch: the cut lot is retried once by a direct call with 50,000 and completes; an always-cut lot fails; every attempt is billed', async () => {
    const jobId = await insertBatchJob(h.app.db, {
      languages: ['en', 'de'],
      lots: [
        { lotId: 'plain', additionalInfo: 'Rear bumper dented', images: [image('p1')] },
        { lotId: 'deep', additionalInfo: 'Engine bay fire [emulator:deep-reasoning]', images: [image('d1'), image('d2')] },
        { lotId: 'always', additionalInfo: 'Cut short [emulator:incomplete]', images: [image('a1')] },
      ],
    });
    const before = h.emu.stats().responsesCreated;
    const job = await untilTerminal(h.app, h.app.db, jobId);
    const lots = await lotRows(h.app.db, jobId);
    const row = (id: string) => lots.get(id) as Row;

    expect(job).toMatchObject({ status: 'completed', processed_lots: 2, failed_lots: 1 });
    const english = describeDamage('Engine bay fire', 2);
    expect({
      status: row('deep').status,
      vision: row('deep').vision_result,
      de: row('deep').translations?.de,
      error: row('deep').error_message,
    }).toEqual({ status: 'completed', vision: english, de: translateHtml(english, 'de'), error: null });
    expect(row('deep').budget_retries).toEqual([
      { stage: 'vision', via: 'batch', ...BUDGET, usage: expect.objectContaining({ output_tokens: 25_000, reasoning_tokens: 25_000 }) },
    ]);
    // Reasoning billed twice: 25,000 for the cut batch answer, 30,000 for the direct retry (the translation model does not reason).
    expect(row('deep').usage.reasoning_tokens).toBe(55_000);

    expect(row('always').status).toBe('failed');
    expect(row('always').error_message).toMatch(/^Vision analysis failed \(incomplete\): The response is incomplete: max_output_tokens\.$/);
    expect(row('always').budget_retries).toEqual([
      { stage: 'vision', via: 'batch', ...BUDGET, usage: expect.objectContaining({ output_tokens: 25_000 }) },
    ]);
    expect(row('always').usage.output_tokens).toBe(25_000 + 50_000);

    expect(row('plain')).toMatchObject({ status: 'completed', budget_retries: [] });
    // Exactly two direct calls: one retry each for the two cut lots, none for the rest.
    expect(h.emu.stats().responsesCreated - before).toBe(2);
    // The job's usage is the sum of every attempt of every lot.
    const stored = await jobRow(h.app.db, jobId);
    for (const key of keys)
      expect({ key, job: stored.usage[key] }).toEqual({ key, job: [...lots.values()].reduce((sum, l) => sum + (l.usage[key] ?? 0), 0) });
  });

  it('batch: a cut translation is retried once by a direct call with twice its budget, then fails with the reason', async () => {
    const jobId = await insertBatchJob(h.app.db, {
      languages: ['en', 'de'],
      lots: [{ lotId: 'tr', additionalInfo: 'Fine in English [emulator:next:incomplete]', images: [image('t1')] }],
    });
    const before = h.emu.stats().responsesCreated;
    const job = await untilTerminal(h.app, h.app.db, jobId);
    const tr = (await lotRows(h.app.db, jobId)).get('tr') as Row;
    expect(job).toMatchObject({ status: 'failed', failed_lots: 1 });
    expect(tr.vision_result).toMatch(/^<p>Damage assessment of 1 image\(s\): Fine in English/);
    expect(tr.error_message).toBe('Translation failed (incomplete): The response is incomplete: max_output_tokens.');
    // gpt-4.1-mini: OPENAI_MAX_TOKENS (4000) × 1 language, doubled for the retry.
    expect(tr.budget_retries).toEqual([
      {
        stage: 'translation',
        via: 'batch',
        reason: 'max_output_tokens',
        max_output_tokens: 4000,
        retry_max_output_tokens: 8000,
        at: expect.any(String),
        usage: expect.objectContaining({ output_tokens: 4000 }),
      },
    ]);
    expect(h.emu.stats().responsesCreated - before).toBe(1);
  });

  it('batch: a lot already retried once fails instead of retrying again (one retry per lot and stage)', async () => {
    const jobId = await insertBatchJob(h.app.db, {
      languages: ['en'],
      deferred: true,
      lots: [{ lotId: 'again', additionalInfo: 'Cut again [emulator:incomplete]', images: [image('g1')] }],
    });
    // As if an earlier batch of this stage had cut it already: the resubmitted line carries the larger budget, and a cut answer fails the lot.
    const earlier = { stage: 'vision', via: 'batch', ...BUDGET, at: '2026-01-01T00:00:00.000Z', usage: { output_tokens: 25_000 } };
    await h.app.db.query(`UPDATE batch_lots SET budget_retries = $2::jsonb WHERE batch_job_id = $1`, [jobId, JSON.stringify([earlier])]);
    await h.app.db.query(`UPDATE batch_jobs SET next_check_at = now() WHERE id = $1`, [jobId]);
    const before = h.emu.stats().responsesCreated;
    const job = await untilTerminal(h.app, h.app.db, jobId);
    const again = (await lotRows(h.app.db, jobId)).get('again') as Row;
    expect(job).toMatchObject({ status: 'failed', failed_lots: 1 });
    expect(again.error_message).toBe(
      'Vision analysis failed (incomplete): The response is incomplete: max_output_tokens (with max_output_tokens=50000, after its one retry with a larger budget).',
    );
    expect(again.budget_retries).toEqual([earlier]);
    expect(again.usage.output_tokens).toBe(50_000);
    expect(h.emu.stats().responsesCreated - before).toBe(0);
  });

  it('sync: the cut vision answer is retried within the request; the lot completes and stores the retry and both attempts’ usage', async () => {
    const before = h.emu.stats().responsesCreated;
    const res = await h.app.postLots({
      version: '1.0.0',
      languages: ['en', 'de'],
      lots: [lot('sync-deep', { additional_info: 'Engine bay fire [emulator:deep-reasoning]', images: [{ url: image('s1') }] })],
    });
    expect(res.status).toBe(200);
    const json = await body(res);
    const english = describeDamage('Engine bay fire', 1);
    expect(json.lots[0]).toMatchObject({
      status: 'completed',
      error: null,
      descriptions: [
        { language: 'en', damages: english },
        { language: 'de', damages: translateHtml(english, 'de') },
      ],
    });
    // Vision twice (25,000 cut, 50,000 fits) and the translation once.
    expect(h.emu.stats().responsesCreated - before).toBe(3);
    const [stored] = await h.app.db.query<{ budget_retries: unknown[]; usage: Record<string, number> }>(
      `SELECT budget_retries, usage FROM batch_lots WHERE batch_job_id = $1`,
      [json.job_id],
    );
    expect(stored.budget_retries).toEqual([
      { stage: 'vision', via: 'direct', ...BUDGET, usage: expect.objectContaining({ output_tokens: 25_000, reasoning_tokens: 25_000 }) },
    ]);
    expect(stored.usage.reasoning_tokens).toBe(55_000);
    const [job] = await h.app.db.query<{ usage: Record<string, number> }>(`SELECT usage FROM batch_jobs WHERE id = $1`, [json.job_id]);
    expect(job.usage).toEqual(stored.usage);
  });

  it('sync: an answer cut at both budgets fails the lot with the reason (200), both attempts billed', async () => {
    const before = h.emu.stats().responsesCreated;
    const res = await h.app.postLots({
      version: '1.0.0',
      languages: ['en', 'de'],
      lots: [lot('sync-always', { additional_info: 'Cut short [emulator:incomplete]', images: [{ url: image('s2') }] })],
    });
    expect(res.status).toBe(200);
    const json = await body(res);
    expect(json.lots[0]).toMatchObject({
      status: 'failed',
      error: 'Vision analysis failed (incomplete): The response is incomplete: max_output_tokens (also with max_output_tokens=50000).',
    });
    expect(h.emu.stats().responsesCreated - before).toBe(2);
    const [stored] = await h.app.db.query<{ budget_retries: unknown[]; usage: Record<string, number> }>(
      `SELECT budget_retries, usage FROM batch_lots WHERE batch_job_id = $1`,
      [json.job_id],
    );
    expect(stored.budget_retries).toEqual([
      { stage: 'vision', via: 'direct', ...BUDGET, usage: expect.objectContaining({ output_tokens: 25_000 }) },
    ]);
    expect(stored.usage.output_tokens).toBe(75_000);
  });
});
