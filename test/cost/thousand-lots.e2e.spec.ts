import { writeFile } from 'node:fs/promises';
import { json } from '../support/app.js';
import { startPipeline, tickUntil, type PipelineHarness } from '../pipeline/pipeline-support.js';

/**
 * A finished 1,000-lot job's batch-status with its usage and cost (the closing
 * note of issue 13 shows it): BATCH_STATUS_OUT=<file> writes the body there.
 */
describe('a 1,000-lot job', () => {
  let h: PipelineHarness;
  beforeAll(async () => {
    h = await startPipeline();
  });
  afterAll(() => h?.close());

  it('finishes with one usage entry per stage (1,000 requests each), its cost, and no file left at OpenAI', async () => {
    const lots = Array.from({ length: 1000 }, (_, i) => ({
      lot_id: `car-${String(i + 1).padStart(4, '0')}`,
      additional_info: `Lot ${i + 1}: ${['front bumper scratched', 'hail damage on the roof', 'rear door dented', 'cracked windscreen'][i % 4]}`,
      images: Array.from({ length: 1 + (i % 3) }, (_, k) => ({ url: `${h.images.url}/img/${i}-${k}.jpg` })),
    }));
    const response = await h.app.postLots({ languages: ['en', 'de', 'fr'], lots });
    expect(response.status).toBe(201);
    const jobId = ((await response.json()) as { job_id: string }).job_id;
    const body = await tickUntil(
      h.app,
      async () => {
        const status = (await json(await h.app.getJob(`/api/v1/batch-status/${jobId}`, jobId))) as { status: string };
        return status.status === 'completed' ? status : undefined;
      },
      { what: 'the 1,000-lot job to complete', timeoutMs: 120_000 },
    );
    const status = body as unknown as {
      progress: { processed_lots: number };
      usage: { input_tokens: number; by_stage: { stage: string; mode: string; requests: number }[] };
      cost: { total_usd: number; currency: string };
    };
    expect(status.progress.processed_lots).toBe(1000);
    expect(status.usage.by_stage.map((entry) => [entry.stage, entry.mode, entry.requests])).toEqual([
      ['vision', 'batch', 1000],
      ['translation', 'batch', 1000],
    ]);
    expect(status.cost).toMatchObject({ currency: 'USD' });
    expect(status.cost.total_usd).toBeGreaterThan(0);
    expect(h.emu.stats().filesDeleted).toBe(h.emu.stats().filesCreated * 2); // each input file and its output file
    if (process.env.BATCH_STATUS_OUT) await writeFile(process.env.BATCH_STATUS_OUT, JSON.stringify(body, null, 2));
  }, 180_000);
});
