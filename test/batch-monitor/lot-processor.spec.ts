import { LotProcessorService } from '../../src/lot-processing/lot-processor.service.js';
import { describeDamage, translateHtml } from '../../src/emulator/text-generator.js';
import { startPipeline, type PipelineHarness } from '../pipeline/pipeline-support.js';

/** processDirect: what sync mode and the fallbacks use, against the emulator's Responses API. */
describe('LotProcessorService.processDirect', () => {
  let h: PipelineHarness;
  let processor: LotProcessorService;
  beforeAll(async () => {
    h = await startPipeline({ env: { WORKER_POLL_INTERVAL: '3600' } });
    processor = h.app.app.get(LotProcessorService);
  });
  afterAll(() => h?.close());

  const lot = (info: string | null, urls: string[]) => ({
    id: '00000000-0000-4000-8000-000000000001',
    lotId: 'sync-1',
    additionalInfo: info,
    images: urls.map((url) => ({ url })),
  });
  const img = (name: string) => `${h.images.url}/img/${name}.jpg`;

  it('describes, translates into every other language at once, and lists the missing image', async () => {
    const before = h.emu.stats().responsesCreated;
    const gone = `${h.images.url}/missing/x.jpg`;
    const result = await processor.processDirect(
      lot('BMW X5, front collision', [img('a'), gone, img('b')]),
      ['en', 'ru', 'de'],
      AbortSignal.timeout(10_000),
    );
    const english = describeDamage('BMW X5, front collision', 2);
    expect(result).toEqual({
      ok: true,
      visionResult: english,
      translations: { ru: translateHtml(english, 'ru'), de: translateHtml(english, 'de') },
      missingImages: [gone],
      processedImages: 2,
      usage: expect.objectContaining({ total_tokens: expect.any(Number) }),
      budgetRetries: [],
      stageUsage: [
        { stage: 'vision', usage: expect.objectContaining({ input_tokens: expect.any(Number) }) },
        { stage: 'translation', usage: expect.objectContaining({ input_tokens: expect.any(Number) }) },
      ],
    });
    expect(h.emu.stats().responsesCreated - before).toBe(2);
  });

  it('makes one call when only English is asked for', async () => {
    const before = h.emu.stats().responsesCreated;
    const result = await processor.processDirect(lot(null, [img('c')]), ['en'], AbortSignal.timeout(10_000));
    expect(result).toMatchObject({ ok: true, translations: {}, processedImages: 1 });
    expect(h.emu.stats().responsesCreated - before).toBe(1);
  });

  it('fails with a reason, without calling OpenAI, when no image is usable', async () => {
    const before = h.emu.stats().totalRequests;
    const result = await processor.processDirect(lot('x', [`${h.images.url}/missing/1.jpg`]), ['en'], AbortSignal.timeout(10_000));
    expect(result).toMatchObject({ ok: false, processedImages: 0, missingImages: [`${h.images.url}/missing/1.jpg`] });
    expect(!result.ok && result.error).toMatch(/^No usable image: .*HTTP 404/);
    expect(h.emu.stats().totalRequests).toBe(before);
  });

  it('fails on a refusal with the reason as text', async () => {
    const result = await processor.processDirect(lot('[emulator:refusal]', [img('d')]), ['en', 'de'], AbortSignal.timeout(10_000));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(/^Vision analysis failed \(refusal\): The model refused/);
  });

  it('stops when the caller aborts (sync deadline)', async () => {
    h.emu.faults.delayNext(2000, { route: 'POST /v1/responses' });
    const signal = AbortSignal.timeout(300);
    const error = await processor.processDirect(lot('slow', [img('e')]), ['en'], signal).catch((reason: unknown) => reason);
    // The caller's own abort reason comes back (not a result, not a wrapped transport error).
    expect(error).toBe(signal.reason);
    expect(error).toMatchObject({ name: 'TimeoutError' });
  });
});
