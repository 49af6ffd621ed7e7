import sanitizeHtml from 'sanitize-html';
import { isAlreadyClean, MODEL_HTML_TAGS, sanitizeModelHtml } from '../../src/common/html/model-html.js';
import { describeDamage, HOSTILE_HTML, translateHtml } from '../../src/emulator/text-generator.js';
import { startLoopbackServer, type LoopbackServer } from '../common/loopback-server.js';
import { lotRows, startPipeline, untilTerminal, waitFor, type PipelineHarness } from '../pipeline/pipeline-support.js';
import { json } from '../support/app.js';

/*
 * Issue 8 §5: a model (or a compromised proxy) answering <script>, onerror=,
 * javascript: links or <iframe> must not reach clients' web pages. The
 * emulator's `[emulator:hostile-html]` trigger appends such markup to the
 * description, and `[emulator:next:hostile-html]` to the translations; what is
 * stored, served and sent by webhook is the allow-listed HTML with its text.
 */

/** `[emulator:hostile-html]` in the vision request, `[emulator:next:…]` fires it in the translation request. */
const HOSTILE_INFO = 'Door dent [emulator:hostile-html] [emulator:next:hostile-html]';
/** What the emulator describes (markers removed, the deferred one rewritten), before the hostile markup. */
const BASE = describeDamage('Door dent [emulator:hostile-html]', 1);
/** The hostile markup's harmless remainder: its text, in allowed paragraphs. */
const CLEAN_TAIL = '<p>Hostile markup follows.</p><p>Open the full report</p>';
const CLEAN_EN = BASE + CLEAN_TAIL;
/** The translation request carries the clean description; the emulator "translates" it and appends the hostile markup again. */
const cleanIn = (language: string) => translateHtml(CLEAN_EN + CLEAN_TAIL, language);

/** Nothing that runs, loads or restyles anything. */
function expectHarmless(html: string): void {
  expect(html).not.toMatch(/<\s*(script|iframe|img|a|style|object|embed)\b/i);
  expect(html).not.toMatch(/\son\w+\s*=|javascript:|alert\(/i);
}

test('the allow-list keeps text and harmless tags, drops everything else', () => {
  expect(sanitizeModelHtml(HOSTILE_HTML)).toBe(CLEAN_TAIL);
  const kept = '<p>Rear <strong>bumper</strong> <em>cracked</em><br></p><ul><li>A &amp; B &lt;b&gt;</li></ul><h3>Summary</h3>';
  expect(sanitizeModelHtml(kept)).toBe(kept.replace('<br>', '<br />'));
  expect(sanitizeModelHtml('<p style="color:red" class="x" id="y">text</p><svg onload="x()"><script>1</script></svg>')).toBe('<p>text</p>');
  expect(sanitizeModelHtml(sanitizeModelHtml(HOSTILE_HTML))).toBe(CLEAN_TAIL); // idempotent
});

test('the fast path takes only HTML that sanitize-html would leave exactly as it is', () => {
  const clean = [
    describeDamage('A & B <c>', 2),
    translateHtml(describeDamage('x', 1), 'de'),
    '<ul><li>a</li><li><strong>b</strong><br /></li></ul>',
    'plain text',
  ];
  for (const html of clean) {
    expect([html, isAlreadyClean(html)]).toEqual([html, true]);
    expect(sanitizeHtml(html, { allowedTags: [...MODEL_HTML_TAGS], allowedAttributes: {} })).toBe(html);
  }
  const notClean = [
    '<p>open',
    '<p>a</strong>',
    '<br>',
    '<P>x</P>',
    '<p class="a">x</p>',
    'a > b',
    'A & B',
    '&quot;q&quot;',
    '<div>x</div>',
    '</p>',
    HOSTILE_HTML,
  ];
  for (const html of notClean) expect([html, isAlreadyClean(html)]).toEqual([html, false]);
  expect(sanitizeModelHtml('<p>open')).toBe('<p>open</p>');
  expect(sanitizeModelHtml('A & B')).toBe('A &amp; B');
});

describe('hostile model HTML end to end', () => {
  let h: PipelineHarness;
  let receiver: LoopbackServer;
  beforeAll(async () => {
    h = await startPipeline({ env: { OPENAI_MAX_RETRIES: '0' } });
    receiver = await startLoopbackServer((_request, response) => response.writeHead(200).end('ok'));
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });
  afterEach(() => h.emu.faults.reset());

  const img = (name: string) => `${h.images.url}/img/${name}.jpg`;

  test('sync mode (direct vision and translation calls): answered, stored and served clean, text kept', async () => {
    const res = await h.app.postLots({
      version: '1.0.0',
      languages: ['en', 'de'],
      lots: [{ lot_id: 'sync-hostile', additional_info: HOSTILE_INFO, images: [{ url: img('s1') }] }],
    });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.lots[0]).toMatchObject({ status: 'completed', error: null });
    expect(body.lots[0].descriptions).toEqual([
      { language: 'en', damages: CLEAN_EN },
      { language: 'de', damages: cleanIn('de') },
    ]);

    const [stored] = await h.app.db.query(`SELECT vision_result, translations FROM batch_lots WHERE batch_job_id = $1`, [body.job_id]);
    expect(stored).toEqual({ vision_result: CLEAN_EN, translations: { de: cleanIn('de') } });
    const served = await json(await h.app.getJob(`/api/v1/batch-results/${body.job_id}`, body.job_id));
    expect(served.results.lots[0].descriptions).toEqual(body.lots[0].descriptions);
    expectHarmless(JSON.stringify(served));
    // The model really answered hostile markup (the emulator is not escaping it for us).
    expect(h.emu.stats().responsesCreated).toBe(2);
  });

  test('batch mode (vision and translation batches): stored, served, downloaded and sent by webhook clean', async () => {
    const webhook = `${receiver.url}/hooks/hostile`;
    const res = await h.app.postLots({
      version: '1.0.0',
      languages: ['en', 'fr'],
      lots: [
        { lot_id: 'hostile', webhook, additional_info: HOSTILE_INFO, images: [{ url: img('b1') }] },
        { lot_id: 'plain', webhook, additional_info: 'Scratched bumper', images: [{ url: img('b2') }] },
      ],
    });
    expect(res.status).toBe(201);
    const { job_id: jobId } = await json(res);
    const job = await untilTerminal(h.app, h.app.db, jobId);
    expect(job.status).toBe('completed');
    expect(h.emu.stats().batchesCreated).toBeGreaterThanOrEqual(2);

    const lots = await lotRows(h.app.db, jobId);
    expect(lots.get('hostile')).toMatchObject({ status: 'completed', vision_result: CLEAN_EN, translations: { fr: cleanIn('fr') } });
    const plain = describeDamage('Scratched bumper', 1);
    expect(lots.get('plain')).toMatchObject({ vision_result: plain, translations: { fr: translateHtml(plain, 'fr') } }); // clean HTML unchanged

    const served = await json(await h.app.getJob(`/api/v1/batch-results/${jobId}`, jobId));
    const hostile = served.results.lots.find((lot: { lot_id: string }) => lot.lot_id === 'hostile');
    expect(hostile.descriptions).toEqual([
      { language: 'en', damages: CLEAN_EN },
      { language: 'fr', damages: cleanIn('fr') },
    ]);
    const download = await h.app.getJob(`/api/v1/batch-results/${jobId}/download`, jobId);
    expect(download.status).toBe(200);
    const downloaded = await download.text();
    expect(downloaded).toContain(JSON.stringify(CLEAN_EN));
    expectHarmless(downloaded);

    const delivered = await waitFor(async () => receiver.to('/hooks/hostile')[0], { what: 'the webhook' });
    const payload = delivered.body.toString('utf8');
    expect(payload).toContain(JSON.stringify(CLEAN_EN));
    expectHarmless(payload);
  });

  test('direct fallbacks (batches failing past BATCH_MAX_SUBMISSIONS): stored clean', async () => {
    await h.close();
    h = await startPipeline({ env: { OPENAI_MAX_RETRIES: '0', BATCH_MAX_SUBMISSIONS: '1' } });
    h.emu.faults.batch({ fail: 'token_limit_exceeded', count: 10 });
    const res = await h.app.postLots({
      version: '1.0.0',
      languages: ['en', 'es'],
      lots: [
        { lot_id: 'hostile', additional_info: HOSTILE_INFO, images: [{ url: img('f1') }] },
        { lot_id: 'plain', additional_info: 'Hail', images: [{ url: img('f2') }] },
      ],
    });
    expect(res.status).toBe(201);
    const { job_id: jobId } = await json(res);
    expect((await untilTerminal(h.app, h.app.db, jobId)).status).toBe('completed');
    expect(h.emu.stats()).toMatchObject({ batchesCreated: 2, responsesCreated: 4 }); // both stages done directly
    expect((await lotRows(h.app.db, jobId)).get('hostile')).toMatchObject({ vision_result: CLEAN_EN, translations: { es: cleanIn('es') } });
    expect((await h.app.fetch('/health/live')).status).toBe(200);
  });

  test('an answer with nothing harmless in it fails the lot instead of storing an empty description', async () => {
    const { readVision } = await import('../../src/vision/vision-answer.parser.js');
    const usage = { input_tokens: 1, cached_tokens: 0, output_tokens: 1, reasoning_tokens: 0, total_tokens: 2 };
    expect(readVision({ ok: true, text: '<script>alert(1)</script><img src=x onerror=alert(2)>', usage })).toMatchObject({
      ok: false,
      kind: 'empty_text',
    });
    expect(readVision({ ok: true, text: HOSTILE_HTML, usage })).toEqual({ ok: true, text: CLEAN_TAIL, usage });
  });
});
