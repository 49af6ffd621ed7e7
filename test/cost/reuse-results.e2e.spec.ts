import { json } from '../support/app.js';
import { startPipeline, tickUntil, type PipelineHarness } from '../pipeline/pipeline-support.js';

interface LotView {
  lot_id: string;
  status: string;
  descriptions: { language: string; damages: string }[];
  reused_from?: { job_id: string; lot_id: string; saved_usd: number };
}

describe('"reuse_results": a repeated lot takes the earlier result without an OpenAI call', () => {
  let h: PipelineHarness;
  beforeAll(async () => {
    h = await startPipeline();
  });
  afterAll(() => h?.close());

  const lots = (prefix: string) => [
    { lot_id: `${prefix}-1`, additional_info: 'BMW 320d, rear bumper', images: [{ url: `${h.images.url}/img/r1.jpg` }] },
    {
      lot_id: `${prefix}-2`,
      additional_info: 'Audi A3, hail',
      images: [{ url: `${h.images.url}/img/r2.jpg` }, { url: `${h.images.url}/img/r3.jpg` }],
    },
  ];

  async function run(body: Record<string, unknown>): Promise<{ jobId: string; lots: LotView[] }> {
    const response = await h.app.postLots(body as { lots: unknown[] });
    expect(response.status).toBe(201);
    const jobId = ((await response.json()) as { job_id: string }).job_id;
    await tickUntil(
      h.app,
      async () =>
        ((await json(await h.app.getJob(`/api/v1/batch-status/${jobId}`, jobId))) as { status: string }).status === 'completed' ||
        undefined,
      { what: 'the job to complete' },
    );
    const results = (await json(await h.app.getJob(`/api/v1/batch-results/${jobId}`, jobId))) as { results: { lots: LotView[] } };
    return { jobId, lots: results.results.lots };
  }

  const spending = () => {
    const stats = h.emu.stats();
    return { files: stats.filesCreated, batches: stats.batchesCreated, responses: stats.requests['POST /v1/responses'] ?? 0 };
  };

  it('the same lots again (other lot ids, same image bytes and notes) make zero OpenAI calls', async () => {
    const first = await run({ languages: ['en', 'de'], lots: lots('first') });
    expect(first.lots.every((lot) => lot.status === 'completed' && lot.reused_from === undefined)).toBe(true);
    const firstCost = (
      (await json(await h.app.getJob(`/api/v1/batch-status/${first.jobId}`, first.jobId))) as { cost: { total_usd: number } }
    ).cost.total_usd;
    expect(firstCost).toBeGreaterThan(0);

    const before = spending();
    const second = await run({ languages: ['de', 'en'], reuse_results: true, lots: lots('again') });
    expect(spending()).toEqual(before);
    expect(second.lots.map((lot) => lot.reused_from && [lot.reused_from.job_id, lot.reused_from.lot_id])).toEqual([
      [first.jobId, 'first-1'],
      [first.jobId, 'first-2'],
    ]);
    // Same texts; shown in the order this request asked for (de, en).
    expect(second.lots.map((lot) => lot.descriptions)).toEqual(first.lots.map((lot) => [...lot.descriptions].reverse()));
    const saved = second.lots.reduce((sum, lot) => sum + (lot.reused_from?.saved_usd ?? 0), 0);
    expect(saved).toBeCloseTo(firstCost, 6);
    const status = (await json(await h.app.getJob(`/api/v1/batch-status/${second.jobId}`, second.jobId))) as {
      cost: { total_usd: number };
    };
    expect(status.cost.total_usd).toBe(0);
  });

  it('without the opt-in, or with other notes, the lots are processed again', async () => {
    const before = spending();
    const other = lots('other');
    other[1].additional_info = 'Audi A3, hail and a cracked windscreen';
    const third = await run({ languages: ['en', 'de'], reuse_results: true, lots: other });
    expect(third.lots[0].reused_from).toBeDefined();
    expect(third.lots[1].reused_from).toBeUndefined();
    expect(spending().batches).toBeGreaterThan(before.batches);

    const plain = await run({ languages: ['en', 'de'], lots: lots('plain') });
    expect(plain.lots.every((lot) => lot.reused_from === undefined)).toBe(true);
  });
});
