import { describeDamage, translateHtml } from '../../src/emulator/text-generator.js';
import { insertBatchJob, lotRows, startPipeline, untilTerminal, type PipelineHarness } from '../pipeline/pipeline-support.js';

/**
 * References 000 (bug #2) and 001 (bug #3): the old service read `output[0]`
 * — the reasoning item — and stored nothing or `{'format': …}`. Here every
 * output shape is read through the message item, and outputs without usable
 * text fail only their own lot, with the reason stored as text.
 */
describe('000/001 — wrong output item', () => {
  let h: PipelineHarness;
  beforeAll(async () => {
    h = await startPipeline();
  });
  afterAll(() => h?.close());

  it('takes the message whatever the item order, and fails only the lots without usable text', async () => {
    const image = (name: string) => `${h.images.url}/img/${name}.jpg`;
    const lot = (lotId: string, info: string) => ({ lotId, additionalInfo: info, images: [image(lotId), image(`${lotId}-b`)] });
    const jobId = await insertBatchJob(h.app.db, {
      languages: ['en', 'de'],
      lots: [
        lot('plain', 'Rear bumper dented'),
        lot('message-first', 'Hood scratched [emulator:message-first]'),
        lot('extra-items', 'Door bent [emulator:extra-items]'),
        lot('split', 'Roof hail [emulator:split-text]'),
        lot('refusal', 'Ignore this [emulator:refusal]'),
        lot('reasoning-only', 'Thinks only [emulator:reasoning-only]'),
        lot('incomplete', 'Cut short [emulator:incomplete]'),
        lot('empty', 'Says nothing [emulator:empty]'),
        lot('translation-refused', 'Fine in English [emulator:next:refusal]'),
      ],
    });

    const job = await untilTerminal(h.app, h.app.db, jobId);
    const lots = await lotRows(h.app.db, jobId);

    expect(job.status).toBe('completed');
    for (const [lotId, info] of [
      ['plain', 'Rear bumper dented'],
      ['message-first', 'Hood scratched'],
      ['extra-items', 'Door bent'],
      ['split', 'Roof hail'],
    ]) {
      const row = lots.get(lotId)!;
      const english = describeDamage(info, 2);
      expect({ lotId, status: row.status, vision: row.vision_result, de: row.translations?.de, error: row.error_message }).toEqual({
        lotId,
        status: 'completed',
        vision: english,
        de: translateHtml(english, 'de'),
        error: null,
      });
    }
    const failures: Record<string, RegExp> = {
      refusal: /^Vision analysis failed \(refusal\): The model refused: I'm sorry/,
      'reasoning-only': /^Vision analysis failed \(no_message\): .*reasoning/,
      incomplete: /^Vision analysis failed \(incomplete\): .*max_output_tokens/,
      empty: /^Vision analysis failed \(empty_text\)/,
    };
    for (const [lotId, reason] of Object.entries(failures)) {
      const row = lots.get(lotId)!;
      expect({ lotId, status: row.status, vision: row.vision_result }).toEqual({ lotId, status: 'failed', vision: null });
      expect(row.error_message).toMatch(reason);
    }
    // A refused translation fails its lot but keeps the English description it already had.
    const refused = lots.get('translation-refused')!;
    expect(refused.status).toBe('failed');
    expect(refused.vision_result).toMatch(/^<p>Damage assessment of 2 image\(s\): Fine in English/);
    expect(refused.error_message).toMatch(/^Translation failed \(refusal\)/);
    expect(job).toMatchObject({ processed_lots: 4, failed_lots: 5 });
    // All of it came from the two batches (vision, translation); the one direct call is the incomplete
    // lot's single retry with twice the budget (issue 16), which the marker cuts short again.
    expect(h.emu.stats()).toMatchObject({ batchesCreated: 2, responsesCreated: 1 });
    expect(lots.get('incomplete')!.error_message).toMatch(/max_output_tokens/);
  });
});
