import { json } from '../support/app.js';
import { startPipeline, type PipelineHarness } from '../pipeline/pipeline-support.js';

interface Range {
  min: number;
  max: number;
}
interface DryRun {
  dry_run: boolean;
  processing_mode: string;
  total_lots: number;
  total_images: number;
  stages: { stage: string; model: string; mode: string; requests: number; batches: number; input_tokens: Range; output_tokens: Range }[];
  input_tokens: Range;
  output_tokens: Range;
  cost: Range & { currency: string; prices_as_of: string };
}

const TABLES = [
  'batch_jobs',
  'batch_lots',
  'openai_batches',
  'openai_usage',
  'idempotency_keys',
  'webhook_deliveries',
  'client_rate_limits',
];

describe('"dry_run": true estimates without storing or sending anything', () => {
  let h: PipelineHarness;
  const img = (name: string) => ({ url: `${h.images.url}/img/${name}.jpg` });

  beforeAll(async () => {
    h = await startPipeline({ env: { OPENAI_IMAGE_DETAIL: 'low' } });
  });
  afterAll(() => h?.close());

  async function counts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const table of TABLES.filter((t) => t !== 'client_rate_limits')) {
      out[table] = Number((await h.app.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0].n);
    }
    return out;
  }

  it('answers 200 with requests, batches, tokens and a cost range; no row, no OpenAI call, no image fetch', async () => {
    const before = await counts();
    const emulatorBefore = h.emu.stats();
    const imageHits = h.images.requests.length;

    const lots = [
      { lot_id: 'd-1', additional_info: 'x'.repeat(400), images: [img('a'), img('b')] },
      { lot_id: 'd-2', images: [img('c')] },
      { lot_id: 'd-3', webhook: 'https://example.com/hook', images: [img('d'), img('e'), img('f')] },
    ];
    const response = await h.app.postLots({ languages: ['en', 'de', 'fr'], dry_run: true, lots });
    expect(response.status).toBe(200);
    const body = (await json(response)) as DryRun;
    expect(body).toMatchObject({ dry_run: true, processing_mode: 'batch', total_lots: 3, total_images: 6 });
    const [vision, translation] = body.stages;
    expect(vision).toMatchObject({ stage: 'vision', model: 'o4-mini', mode: 'batch', requests: 3, batches: 1 });
    expect(translation).toMatchObject({ stage: 'translation', model: 'gpt-4.1-mini', mode: 'batch', requests: 3, batches: 1 });
    // detail "low": 85 tokens per image, plus the text (the 400-character note alone is 100 tokens).
    expect(vision.input_tokens.min).toBe(vision.input_tokens.max);
    expect(vision.input_tokens.min).toBeGreaterThan(6 * 85 + 100);
    expect(vision.output_tokens).toEqual({ min: 0, max: 3 * h.app.config.openai.reasoningMaxOutputTokens });
    expect(translation.input_tokens.max).toBeGreaterThan(translation.input_tokens.min);
    expect(body.input_tokens.min).toBe(vision.input_tokens.min + translation.input_tokens.min);
    expect(body.cost.currency).toBe('USD');
    expect(body.cost.min).toBeGreaterThan(0);
    expect(body.cost.max).toBeGreaterThan(body.cost.min);

    expect(await counts()).toEqual(before);
    // (The worker's reconciler lists batches meanwhile: compare what a request would have caused.)
    const spending = (stats: typeof emulatorBefore) => ({
      files: stats.filesCreated,
      batches: stats.batchesCreated,
      responses: stats.requests['POST /v1/responses'] ?? 0,
      imageFetches: stats.imageFetches,
    });
    expect(spending(h.emu.stats())).toEqual(spending(emulatorBefore));
    expect(h.images.requests.length).toBe(imageHits);
  });

  it('one lot is estimated as synchronous direct calls at the full price', async () => {
    const batch = (await json(
      await h.app.postLots({
        languages: ['en'],
        dry_run: true,
        lots: [img('s1'), img('s2')].map((image, i) => ({ lot_id: `b${i}`, images: [image] })),
      }),
    )) as DryRun;
    const single = (await json(
      await h.app.postLots({ languages: ['en'], dry_run: true, lots: [{ lot_id: 'b0', images: [img('s1')] }] }),
    )) as DryRun;
    expect(single).toMatchObject({ processing_mode: 'synchronous', total_lots: 1 });
    expect(single.stages).toEqual([expect.objectContaining({ stage: 'vision', mode: 'direct', requests: 1, batches: 0 })]);
    // Two identical lots at the Batch API's 50 % cost what one of them costs as a direct call.
    expect(single.cost.max).toBeCloseTo(batch.cost.max, 6);
  });

  it('is validated and authenticated as usual', async () => {
    const lots = [{ lot_id: 'v-1', images: [img('v')] }];
    expect((await h.app.postLots({ dry_run: 'yes', lots })).status).toBe(400);
    const unsigned = await h.app.fetch('/api/v1/generate-descriptions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ dry_run: true, lots }),
    });
    expect(unsigned.status).toBe(401);
    expect((await h.app.postLots({ dry_run: true, languages: ['xx'], lots })).status).toBe(422);
  });
});
