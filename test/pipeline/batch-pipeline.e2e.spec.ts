import { describeDamage, translateHtml } from '../../src/emulator/text-generator.js';
import { startLoopbackServer, type LoopbackServer } from '../common/loopback-server.js';
import { startPipeline, tickUntil, type PipelineHarness } from './pipeline-support.js';

interface StatusBody {
  status: string;
  progress: { total_lots: number; processed_lots: number; failed_lots: number; completion_percentage: number };
  processing_details: { openai_vision_batch_id: string | null; openai_translation_batch_id: string | null; current_stage: string };
}
interface LotView {
  lot_id: string;
  status: string;
  processed_images: number;
  descriptions: { language: string; damages: string }[];
  missing_images: string[];
  error: string | null;
}

/**
 * The end-to-end test: a client POSTs a batch over real HTTP, the
 * worker runs it through the emulator's Batch API (vision, then translation)
 * and the client polls, reads and downloads the results — with a missing
 * image, a lot whose images are all missing, a lot the model refuses, and two
 * languages.
 */
describe('batch pipeline end to end', () => {
  let h: PipelineHarness;
  let receiver: LoopbackServer;
  let jobId: string;
  let img: (name: string) => string;
  let missing: (name: string) => string;

  beforeAll(async () => {
    h = await startPipeline();
    receiver = await startLoopbackServer((_request, response) => response.writeHead(200).end('ok'));
    const webhook = `${receiver.url}/hooks/done`;
    img = (name) => `${h.images.url}/img/${name}.jpg`;
    missing = (name) => `${h.images.url}/missing/${name}.jpg`;
    const response = await h.app.postLots({
      version: '1.0.0',
      languages: ['en', 'de'],
      lots: [
        {
          lot_id: 'car-1',
          webhook,
          additional_info: '2019 Mercedes C-Class, minor rear damage',
          images: [{ url: img('c1-rear') }, { url: missing('c1-gone') }, { url: img('c1-side') }],
        },
        { lot_id: 'car-2', webhook, additional_info: '2020 Audi A4, hail damage', images: [{ url: img('c2-roof') }] },
        { lot_id: 'car-refused', additional_info: 'Anything [emulator:refusal]', images: [{ url: img('c3') }] },
        {
          lot_id: 'car-no-photos',
          additional_info: 'Photos lost',
          images: [{ url: missing('c4-a') }, { url: `${h.images.url}/text/c4-b` }],
        },
      ],
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { job_id: string; status: string; processing_mode: string };
    expect(body).toMatchObject({ status: 'accepted', processing_mode: 'batch' });
    jobId = body.job_id;
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });

  it('runs from POST to completed, polled over HTTP', async () => {
    const status = await tickUntil(
      h.app,
      async () => {
        const response = await h.app.getJob(`/api/v1/batch-status/${jobId}`, jobId);
        expect(response.status).toBe(200);
        const body = (await response.json()) as StatusBody;
        return body.status === 'completed' ? body : undefined;
      },
      { what: 'the job to complete' },
    );
    expect(status.progress).toMatchObject({ total_lots: 4, processed_lots: 2, failed_lots: 2, completion_percentage: 100 });
    expect(status.processing_details.openai_vision_batch_id).toMatch(/^batch_/);
    expect(status.processing_details.openai_translation_batch_id).toMatch(/^batch_/);
    expect(status.processing_details.current_stage).toBe('completed');
    expect(h.emu.stats()).toMatchObject({ batchesCreated: 2, responsesCreated: 0 });
  });

  it('serves the results: descriptions in both languages, missing images, per-lot errors', async () => {
    const response = await h.app.getJob(`/api/v1/batch-results/${jobId}`, jobId);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; results: { lots: LotView[] } };
    const lots = new Map(body.results.lots.map((lot) => [lot.lot_id, lot]));
    expect(body.results.lots.map((lot) => lot.lot_id)).toEqual(['car-1', 'car-2', 'car-refused', 'car-no-photos']);

    const english1 = describeDamage('2019 Mercedes C-Class, minor rear damage', 2);
    expect(lots.get('car-1')).toMatchObject({
      status: 'completed',
      processed_images: 2,
      missing_images: [missing('c1-gone')],
      error: null,
      descriptions: [
        { language: 'en', damages: english1 },
        { language: 'de', damages: translateHtml(english1, 'de') },
      ],
    });
    expect(lots.get('car-2')!.descriptions.map((d) => d.language)).toEqual(['en', 'de']);
    expect(lots.get('car-refused')).toMatchObject({ status: 'failed', descriptions: [], missing_images: [] });
    expect(lots.get('car-refused')!.error).toMatch(/refus/);
    expect(lots.get('car-no-photos')).toMatchObject({ status: 'failed', processed_images: 0, descriptions: [] });
    expect(lots.get('car-no-photos')!.missing_images).toHaveLength(2);
    expect(lots.get('car-no-photos')!.error).toMatch(/^No usable image.*HTTP 404.*not an image/);
  });

  it('downloads the same results as an attachment', async () => {
    const [results, download] = await Promise.all([
      h.app.getJob(`/api/v1/batch-results/${jobId}`, jobId).then((r) => r.json()),
      h.app.getJob(`/api/v1/batch-results/${jobId}/download`, jobId),
    ]);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="batch_results_${jobId}.json"`);
    expect(JSON.parse(await download.text())).toEqual(results);
  });

  it('delivers the completion webhook, signed, to the URL the lots named', async () => {
    const [delivery] = await tickUntil(
      h.app,
      async () => (receiver.to('/hooks/done').length > 0 ? receiver.to('/hooks/done') : undefined),
      {
        what: 'the webhook',
      },
    );
    expect(delivery.method).toBe('POST');
    expect(delivery.headers['x-job-id']).toBe(jobId);
    expect(delivery.headers['x-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    const payload = JSON.parse(delivery.body.toString('utf8')) as { event: string; lots?: { lot_id: string }[] };
    expect(payload.event).toBe('batch_job_completed');
    expect(JSON.stringify(payload)).toContain('car-1');
  });

  /**
   * Reference 003 ("Fixed Data Issues"): vision results had been stored as
   * string representations of dicts. Read the columns as stored.
   */
  it('003 — data stored as str(dict): the columns hold HTML text and a JSON object of strings', async () => {
    const rows = await h.app.db.query<{
      lot_id: string;
      vision_result: string;
      translations_type: string;
      value_types: string[];
      de: string;
    }>(
      `SELECT lot_id, vision_result, jsonb_typeof(translations) AS translations_type,
              (SELECT array_agg(DISTINCT jsonb_typeof(v)) FROM jsonb_each(translations) AS t(k, v)) AS value_types,
              translations->>'de' AS de
         FROM batch_lots WHERE batch_job_id = $1 AND status = 'completed' ORDER BY position`,
      [jobId],
    );
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.vision_result.startsWith('<p>')).toBe(true);
      expect(row.de.startsWith('<p>[de] ')).toBe(true);
      expect(row.translations_type).toBe('object');
      expect(row.value_types).toEqual(['string']);
      for (const text of [row.vision_result, row.de]) {
        expect(text).not.toMatch(/^\s*[{[]|\{'|"\{|'format'|"format"/);
      }
    }
    const [types] = await h.app.db.query<{ vision: string; translations: string }>(
      `SELECT pg_typeof(vision_result)::text AS vision, pg_typeof(translations)::text AS translations FROM batch_lots LIMIT 1`,
    );
    expect(types).toEqual({ vision: 'text', translations: 'jsonb' });
  });
});
