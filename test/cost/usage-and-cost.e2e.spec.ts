import { BatchIngestionService } from '../../src/batch-monitor/batch-ingestion.service.js';
import { statusSynced } from '../jobs/jobs-support.js';
import { json } from '../support/app.js';
import { startPipeline, tickUntil, type PipelineHarness } from '../pipeline/pipeline-support.js';

/** Prices chosen for the test (USD per 1M tokens), so the expected cost is computed here, not read from the code. */
const PRICES = {
  date: '2026-01-15',
  batch_factor: 0.5,
  models: {
    'o4-mini': { input: 2, cached_input: 0.5, output: 8 },
    'gpt-4.1-mini': { input: 0.4, cached_input: 0.1, output: 1.6 },
  },
};
const EMULATOR_KEY = 'sk-test-emulator-key';

interface Tokens {
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  requests: number;
}
interface UsageEntry extends Tokens {
  stage: string;
  mode: string;
  model: string;
  cost_usd: number | null;
}
interface Cost {
  total_usd: number;
  currency: string;
  prices_as_of: string;
  unpriced_models: string[];
}

/** What the emulator billed: `response.body.usage` of every line of the job's output and error files, per stage. */
async function emulatorUsage(h: PipelineHarness, jobId: string): Promise<Record<string, Tokens>> {
  const batches = await h.app.db.query<{ stage: string; output_file_id: string | null; error_file_id: string | null }>(
    `SELECT stage, output_file_id, error_file_id FROM openai_batches WHERE batch_job_id = $1`,
    [jobId],
  );
  const sums: Record<string, Tokens> = {};
  for (const batch of batches) {
    for (const fileId of [batch.output_file_id, batch.error_file_id]) {
      if (!fileId) continue;
      const response = await fetch(`${h.emu.url}/files/${fileId}/content`, { headers: { authorization: `Bearer ${EMULATOR_KEY}` } });
      expect(response.status).toBe(200);
      for (const line of (await response.text()).split('\n').filter(Boolean)) {
        const usage = (JSON.parse(line) as { response?: { body?: { usage?: Record<string, unknown> } } }).response?.body?.usage as
          | {
              input_tokens: number;
              input_tokens_details: { cached_tokens: number };
              output_tokens: number;
              output_tokens_details: { reasoning_tokens: number };
            }
          | undefined;
        if (!usage) continue;
        const sum = (sums[batch.stage] ??= { input_tokens: 0, cached_input_tokens: 0, output_tokens: 0, reasoning_tokens: 0, requests: 0 });
        sum.input_tokens += usage.input_tokens;
        sum.cached_input_tokens += usage.input_tokens_details.cached_tokens;
        sum.output_tokens += usage.output_tokens;
        sum.reasoning_tokens += usage.output_tokens_details.reasoning_tokens;
        sum.requests += 1;
      }
    }
  }
  return sums;
}

function batchCost(model: keyof typeof PRICES.models, tokens: Tokens): number {
  const price = PRICES.models[model];
  const fresh = tokens.input_tokens - tokens.cached_input_tokens;
  return ((fresh * price.input + tokens.cached_input_tokens * price.cached_input + tokens.output_tokens * price.output) / 1e6) * 0.5;
}

function metric(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((label) => l.includes(label)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('usage and cost per job, counted exactly once', () => {
  let h: PipelineHarness;
  let jobId: string;

  beforeAll(async () => {
    h = await startPipeline({ env: { OPENAI_PRICES: JSON.stringify(PRICES), OPENAI_DELETE_FILES: 'false' } });
    const img = (name: string) => ({ url: `${h.images.url}/img/${name}.jpg` });
    const response = await h.app.postLots({
      version: '1.0.0',
      languages: ['en', 'de'],
      lots: [
        { lot_id: 'u-1', additional_info: '2019 Mercedes C-Class, rear damage', images: [img('a1'), img('a2')] },
        { lot_id: 'u-2', additional_info: '2020 Audi A4, hail', images: [img('b1')] },
        { lot_id: 'u-3', additional_info: 'Ford Focus', images: [img('c1'), img('c2'), img('c3')] },
      ],
    });
    expect(response.status).toBe(201);
    jobId = ((await response.json()) as { job_id: string }).job_id;
    await tickUntil(
      h.app,
      async () => {
        const body = (await json(await h.app.getJob(`/api/v1/batch-status/${jobId}`, jobId))) as { status: string };
        return body.status === 'completed' || undefined;
      },
      { what: 'the job to complete' },
    );
  });
  afterAll(() => h?.close());

  async function status(): Promise<{ usage: Tokens & { by_stage: UsageEntry[] }; cost: Cost }> {
    await statusSynced(h.app); // every change the test made by SQL or through a service is shown
    const response = await h.app.getJob(`/api/v1/batch-status/${jobId}`, jobId);
    expect(response.status).toBe(200);
    return (await json(response)) as { usage: Tokens & { by_stage: UsageEntry[] }; cost: Cost };
  }

  it('batch-status shows the emulator’s usage per stage and mode, and its cost, after a forced re-ingestion', async () => {
    const billed = await emulatorUsage(h, jobId);
    expect(billed.vision.requests).toBe(3);
    expect(billed.translation.requests).toBe(3);
    expect(billed.vision.cached_input_tokens).toBeGreaterThan(0);
    expect(billed.vision.reasoning_tokens).toBeGreaterThan(0);

    // Re-read every batch of the job as if its ingestion had never been recorded (the job back in a live status).
    // (next_check_at far ahead: no worker claims the job meanwhile.)
    await h.app.db.query(`UPDATE batch_jobs SET status = 'translating', next_check_at = now() + interval '1 day' WHERE id = $1`, [jobId]);
    await h.app.db.query(`UPDATE openai_batches SET ingested_at = NULL WHERE batch_job_id = $1`, [jobId]);
    const ingestion = h.app.app.get(BatchIngestionService, { strict: false });
    const rows = await h.app.db.query<{ id: string }>(`SELECT id FROM openai_batches WHERE batch_job_id = $1`, [jobId]);
    for (const row of rows) {
      const summary = await ingestion.ingest(row.id);
      expect(summary?.lines).toBeGreaterThan(0);
      expect(summary?.billed).toEqual([]);
    }
    await h.app.db.query(`UPDATE batch_jobs SET status = 'completed' WHERE id = $1`, [jobId]);

    const body = await status();
    const vision = body.usage.by_stage.find((entry) => entry.stage === 'vision' && entry.mode === 'batch');
    const translation = body.usage.by_stage.find((entry) => entry.stage === 'translation' && entry.mode === 'batch');
    expect(body.usage.by_stage).toHaveLength(2);
    expect(vision).toMatchObject({ model: 'o4-mini', ...billed.vision });
    expect(translation).toMatchObject({ model: 'gpt-4.1-mini', ...billed.translation });
    for (const key of ['input_tokens', 'cached_input_tokens', 'output_tokens', 'reasoning_tokens'] as const) {
      expect(body.usage[key]).toBe(billed.vision[key] + billed.translation[key]);
    }
    const expected = batchCost('o4-mini', billed.vision) + batchCost('gpt-4.1-mini', billed.translation);
    expect(body.cost).toMatchObject({ currency: 'USD', prices_as_of: '2026-01-15', unpriced_models: [] });
    expect(body.cost.total_usd).toBeCloseTo(expected, 7);
    expect(vision?.cost_usd).toBeCloseTo(batchCost('o4-mini', billed.vision), 7);
  });

  it('the results and the list carry the cost; Prometheus counted each billed line once', async () => {
    const { cost } = await status();
    const results = (await json(await h.app.getJob(`/api/v1/batch-results/${jobId}`, jobId))) as {
      processing_summary: { cost: Cost; usage: { input_tokens: number } };
    };
    expect(results.processing_summary.cost).toEqual(cost);
    const list = (await json(await h.app.fetch('/api/v1/batch-jobs', { signWith: '' }))) as { jobs: { id: string; cost: Cost }[] };
    expect(list.jobs.find((job) => job.id === jobId)?.cost).toEqual(cost);

    const billed = await emulatorUsage(h, jobId);
    const text = await (await h.app.manage('/metrics')).text();
    const labels = { model: 'o4-mini', stage: 'vision', mode: 'batch' };
    expect(metric(text, 'gs_openai_tokens_total', { ...labels, kind: 'input' })).toBe(billed.vision.input_tokens);
    expect(metric(text, 'gs_openai_tokens_total', { ...labels, kind: 'cached_input' })).toBe(billed.vision.cached_input_tokens);
    expect(metric(text, 'gs_openai_tokens_total', { ...labels, kind: 'reasoning' })).toBe(billed.vision.reasoning_tokens);
    expect(metric(text, 'gs_openai_cost_usd_total', labels)).toBeCloseTo(batchCost('o4-mini', billed.vision), 7);
  });

  it('a synchronous lot records its direct calls per stage, as the lot’s own usage counted them', async () => {
    const response = await h.app.postLots({
      languages: ['en', 'fr'],
      lots: [{ lot_id: 'u-sync', additional_info: 'Kia Rio, scratched door', images: [{ url: `${h.images.url}/img/s1.jpg` }] }],
    });
    expect(response.status).toBe(200);
    const syncJob = ((await response.json()) as { job_id: string }).job_id;
    const body = (await json(await h.app.getJob(`/api/v1/batch-status/${syncJob}`, syncJob))) as {
      usage: Tokens & { by_stage: UsageEntry[] };
      cost: Cost;
    };
    expect(body.usage.by_stage.map((entry) => [entry.stage, entry.mode, entry.model, entry.requests])).toEqual([
      ['vision', 'direct', 'o4-mini', 1],
      ['translation', 'direct', 'gpt-4.1-mini', 1],
    ]);
    const [lot] = await h.app.db.query<{ usage: { input_tokens: number; output_tokens: number } }>(
      `SELECT usage FROM batch_lots WHERE batch_job_id = $1`,
      [syncJob],
    );
    expect(body.usage.input_tokens).toBe(lot.usage.input_tokens);
    expect(body.usage.output_tokens).toBe(lot.usage.output_tokens);
    const price = PRICES.models;
    const entryCost = (entry: UsageEntry, p: { input: number; cached_input: number; output: number }) =>
      ((entry.input_tokens - entry.cached_input_tokens) * p.input +
        entry.cached_input_tokens * p.cached_input +
        entry.output_tokens * p.output) /
      1e6;
    const [vision, translation] = body.usage.by_stage;
    // Direct calls pay the full price (no batch discount).
    expect(body.cost.total_usd).toBeCloseTo(entryCost(vision, price['o4-mini']) + entryCost(translation, price['gpt-4.1-mini']), 7);
  });
});
