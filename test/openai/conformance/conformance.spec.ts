import { startEmulator, type RunningEmulator } from '../../../src/emulator/emulator.js';
import type { LoopbackServer } from '../../common/loopback-server.js';
import { body, lot } from '../../jobs/jobs-support.js';
import { insertBatchJob, pipelineEnv, startImageHost, untilTerminal } from '../../pipeline/pipeline-support.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { respondWithBudgetRetry } from '../../../src/openai/budget-retry.js';
import { collect, gatewayConfig, newGateway, submitAll, translationBody, visionBody, waitForBatch } from '../gateway-support.js';
import { startLoopbackProxy, type LoopbackProxy } from '../loopback-proxy.js';
import {
  checkBatchCreate,
  checkCapturedRequests,
  checkCreateResponse,
  checkUpload,
  MAX_FILE_BYTES,
  MAX_LINES_PER_FILE,
  MIN_REASONING_BUDGET,
  strictSchemaErrors,
  type UploadSummary,
} from './openai-conformance.js';
import { checkAgainstPublishedSpec } from './published-spec.js';

/**
 * Issue 16: every request the service sends, judged by OpenAI's rules — the
 * vendored schemas (schemas/, closed to unknown properties) and the rules
 * they cannot express — not by the emulator's acceptance. A capturing
 * loopback proxy sits between the service and the emulator and records each
 * request byte for byte while the service runs sync mode, a batch job with
 * two languages (vision and translation batches), direct fallbacks (a budget
 * retry, an expired translation batch) and other model/detail settings.
 */
describe('OpenAI conformance of every request the service sends', () => {
  let emu: RunningEmulator;
  let proxy: LoopbackProxy;
  let images: LoopbackServer;
  let t: TestApp;

  beforeAll(async () => {
    emu = await startEmulator({ port: 0, batchDurationMs: 100 });
    proxy = await startLoopbackProxy(emu.url);
    images = await startImageHost();
    t = await startTestApp({ env: pipelineEnv(), openaiBaseUrl: proxy.url });
  });
  afterAll(async () => {
    await t?.close();
    await images?.close();
    await proxy?.close();
    await emu?.close();
  });
  const image = (name: string) => `${images.url}/img/${name}.jpg`;

  it('runs sync mode: vision and a translation into two languages, and a vision answer retried with a larger budget', async () => {
    for (const [id, info] of [
      ['sync-plain', 'Front bumper cracked'],
      ['sync-deep', 'Engine fire [emulator:deep-reasoning]'],
    ]) {
      const res = await t.postLots({
        version: '1.0.0',
        languages: ['en', 'de', 'fr'],
        lots: [lot(id, { additional_info: info, images: [{ url: image(id) }] })],
      });
      expect(res.status).toBe(200);
      expect((await body(res)).lots[0].status).toBe('completed');
    }
  });

  it('runs a batch job with two languages: vision and translation batches, and direct fallbacks (budget retry, expired translation batch)', async () => {
    emu.faults.batch({ match: { stage: 'translation' }, expireAfter: 1 });
    const jobId = await insertBatchJob(t.db, {
      languages: ['en', 'de', 'ru'],
      lots: [
        { lotId: 'b1', additionalInfo: 'Hail damage on roof', images: [image('b1a'), image('b1b')] },
        { lotId: 'b2', additionalInfo: null, images: [image('b2')] },
        { lotId: 'b3', additionalInfo: 'Door dented', images: [image('b3')] },
        { lotId: 'b4', additionalInfo: 'Deep thinking [emulator:deep-reasoning]', images: [image('b4')] },
      ],
    });
    const job = await untilTerminal(t, t.db, jobId);
    expect(job).toMatchObject({ status: 'completed', processed_lots: 4, failed_lots: 0 });
  });

  it('sends other settings the same way: a non-reasoning vision model, OPENAI_IMAGE_DETAIL low and high', async () => {
    const settings: Record<string, string>[] = [
      { OPENAI_MODEL_VISION: 'gpt-4.1-mini', OPENAI_IMAGE_DETAIL: 'high' },
      { OPENAI_IMAGE_DETAIL: 'low', OPENAI_MODEL_TRANSLATION: 'o4-mini' },
    ];
    for (const env of settings) {
      const gateway = newGateway(proxy.url, env);
      const models = gatewayConfig(proxy.url, env).openai;
      const vision = visionBody({ lotId: 'g', additionalInfo: 'Scratch', imageUrls: [image('g1')] }, env);
      expect(await respondWithBudgetRetry(gateway, vision, { stage: 'vision', settings: models })).toMatchObject({ ok: true });
      const translation = translationBody({ html: '<p>Scratch.</p>', languages: ['de', 'pt-BR'] }, env);
      expect(await respondWithBudgetRetry(gateway, translation, { stage: 'translation', settings: models })).toMatchObject({ ok: true });
      const [batch] = await submitAll(gateway, {
        jobId: `conformance-${env.OPENAI_IMAGE_DETAIL}`,
        stage: 'vision',
        requests: [1, 2].map((n) => ({
          customId: `00000000-0000-4000-8000-00000000000${n}`,
          body: visionBody({ lotId: `g${n}`, additionalInfo: null, imageUrls: [image(`g${n}`)] }, env),
        })),
        onCreated: async () => undefined,
      });
      const done = await waitForBatch(gateway, batch.openaiBatchId);
      expect(done.status).toBe('completed');
      expect((await collect(gateway.readResults(done.outputFileId!))).every((line) => line.result.ok)).toBe(true);
    }
  });

  it('every captured request conforms to the vendored OpenAI schemas and rules', () => {
    const captured = proxy.captured();
    const report = checkCapturedRequests(captured);
    expect(report.errors).toEqual([]);
    // What was covered: direct calls and batch lines, uploads each followed by its batch create.
    expect(report.counts.other).toBe(0);
    // Sync: 2 + 3 (vision cut, vision retried, translation); batch job: 1 budget retry + 3 translations after the
    // expiry; other settings: 2 × (vision + translation).
    expect(report.counts.responses).toBe(5 + 4 + 4);
    expect(report.counts.uploads).toBe(4);
    expect(report.counts.batchCreates).toBe(4);
    expect(report.counts.batchLines).toBe(4 + 4 + 2 + 2);
    const seen = (predicate: (b: Record<string, unknown>) => boolean, via: 'direct' | 'batch') =>
      report.bodies.some((entry) => entry.via === via && predicate(entry.body));
    const details = (b: Record<string, unknown>) =>
      JSON.stringify(b.input)
        .match(/"detail":"(\w+)"/g)
        ?.map((m) => m.slice(10, -1)) ?? [];
    const isVision = (b: Record<string, unknown>) => JSON.stringify(b.input).includes('input_image');
    const isTranslation = (b: Record<string, unknown>) =>
      (b.text as { format?: { type?: string } } | undefined)?.format?.type === 'json_schema';
    for (const via of ['direct', 'batch'] as const) {
      expect({ via, vision: seen(isVision, via), translation: seen(isTranslation, via) }).toEqual({ via, vision: true, translation: true });
    }
    expect(seen((b) => b.model === 'o4-mini' && b.max_output_tokens === 2 * MIN_REASONING_BUDGET, 'direct')).toBe(true); // budget retries
    expect(seen((b) => b.model === 'gpt-4.1-mini' && isVision(b) && typeof b.temperature === 'number', 'direct')).toBe(true);
    expect(seen((b) => b.model === 'o4-mini' && isTranslation(b), 'direct')).toBe(true);
    expect(new Set(report.bodies.flatMap((entry) => details(entry.body)))).toEqual(new Set(['auto', 'low', 'high']));
    expect(report.bodies.some((entry) => 'metadata' in entry.body)).toBe(false);
  });

  // The published document cannot be committed here; the check runs where OPENAI_OPENAPI_JSON names a copy, and is
  // reported as skipped (not silently passed) elsewhere.
  const publishedSpec = process.env.OPENAI_OPENAPI_JSON;
  (publishedSpec ? it : it.skip)('also conforms to the published document itself (OPENAI_OPENAPI_JSON)', () => {
    const errors = checkAgainstPublishedSpec(publishedSpec!, proxy.captured());
    expect(errors).toEqual([]);
  });
});

describe('the checks are not vacuous: they reject what real OpenAI (or its guides) would', () => {
  const image = { type: 'input_image', image_url: 'https://img.example.com/1.jpg', detail: 'auto' };
  const vision = (extra: Record<string, unknown> = {}) => ({
    model: 'o4-mini',
    input: [{ role: 'user', content: [{ type: 'input_text', text: 'Describe.' }, image] }],
    max_output_tokens: 25_000,
    reasoning: { effort: 'medium' },
    store: false,
    ...extra,
  });
  const schema = { type: 'object', properties: { de: { type: 'string' } }, required: ['de'], additionalProperties: false };
  const translation = (format: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
    model: 'gpt-4.1-mini',
    input: [{ role: 'user', content: [{ type: 'input_text', text: '<p>x</p>' }] }],
    text: { format: { type: 'json_schema', name: 'translations', strict: true, schema, ...format } },
    temperature: 0.1,
    store: false,
    ...extra,
  });

  it('accepts the shapes the service sends', () => {
    expect(checkCreateResponse(vision(), 'v')).toEqual([]);
    expect(checkCreateResponse(translation(), 't')).toEqual([]);
  });

  it.each([
    ['metadata with store: false', vision({ metadata: { lot_id: 'L1' } }), /metadata without store: true/],
    ['temperature for a reasoning model', vision({ temperature: 0.1 }), /temperature is sent to the reasoning model o4-mini/],
    ['top_p for a reasoning model', vision({ top_p: 0.5 }), /top_p is sent to the reasoning model/],
    ['a reasoning budget below 25,000', vision({ max_output_tokens: 4000 }), /below OpenAI's recommended 25000/],
    [
      'reasoning for a non-reasoning model',
      translation({}, { reasoning: { effort: 'low' } }),
      /reasoning is sent to the non-reasoning model gpt-4.1-mini/,
    ],
    ['an unknown top-level property', vision({ lot_id: 'L1' }), /must NOT have additional properties 'lot_id'/],
    ['an unknown content-part property', vision({ input: [{ role: 'user', content: [{ ...image, alt: 'x' }] }] }), /additional properties/],
    [
      'an input_image without detail',
      vision({ input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://a/1.jpg' }] }] }),
      /must have required property 'detail'/,
    ],
    [
      'an unknown detail value',
      vision({ input: [{ role: 'user', content: [{ ...image, detail: 'medium' }] }] }),
      /must be equal to one of the allowed values/,
    ],
    ['max_output_tokens below 16', vision({ max_output_tokens: 8 }), /max_output_tokens/],
    ['a json_schema name with spaces', translation({ name: 'my translations' }), /must match pattern/],
    ['a non-strict json_schema', translation({ strict: false }), /without strict: true/],
    [
      'an optional property in a strict schema',
      translation({ schema: { ...schema, properties: { de: { type: 'string' }, fr: { type: 'string' } } } }),
      /properties not required: fr/,
    ],
    [
      'a strict schema open to more properties',
      translation({ schema: { ...schema, additionalProperties: true } }),
      /additionalProperties must be false/,
    ],
  ])('rejects %s', (_name, request, message) => {
    expect(checkCreateResponse(request, 'r').join('\n')).toMatch(message);
  });

  it('applies the strict rules at every object level', () => {
    const nested = {
      type: 'object',
      properties: { a: { type: 'array', items: { type: 'object', properties: { b: { type: 'string' } } } } },
      required: ['a'],
      additionalProperties: false,
    };
    expect(strictSchemaErrors(nested, 's')).toEqual([
      's.properties.a.items: additionalProperties must be false',
      's.properties.a.items: properties not required: b',
    ]);
  });

  const upload = (lines: unknown[], { purpose = 'batch', filename = 'x.jsonl' } = {}) => {
    const boundary = 'b0undary';
    const content = lines.map((line) => JSON.stringify(line)).join('\n') + '\n';
    const text =
      `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\n${purpose}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/jsonl\r\n\r\n${content}\r\n--${boundary}--\r\n`;
    return { contentType: `multipart/form-data; boundary=${boundary}`, body: Buffer.from(text) };
  };
  const line = (id: string, body: Record<string, unknown>) => ({ custom_id: id, method: 'POST', url: '/v1/responses', body });

  it('accepts a good upload and rejects duplicate custom_ids, two models in one file, a wrong purpose or name, and bad line shapes', () => {
    expect(checkUpload(upload([line('a', vision()), line('b', vision())]), 'u').errors).toEqual([]);
    const errors = (lines: unknown[], options?: { purpose?: string; filename?: string }) =>
      checkUpload(upload(lines, options), 'u').errors.join('\n');
    expect(errors([line('a', vision()), line('a', vision())])).toMatch(/duplicate custom_id a/);
    expect(errors([line('a', vision()), line('b', translation())])).toMatch(/one model per file/);
    expect(errors([line('a', vision())], { purpose: 'assistants' })).toMatch(/purpose assistants/);
    expect(errors([line('a', vision())], { filename: 'x.json' })).toMatch(/not \*\.jsonl/);
    expect(errors([{ ...line('a', vision()), method: 'GET' }])).toMatch(/BatchRequestInput\/method must be equal to constant/);
    expect(errors([{ ...line('a', vision()), priority: 1 }])).toMatch(/additional properties 'priority'/);
    expect(errors([line('a', vision({ temperature: 1 }))])).toMatch(/line 1 body: temperature/);
  });

  it('enforces the per-file limits (shown with small limits; OpenAI: 50,000 lines, 200 MB)', () => {
    expect([MAX_LINES_PER_FILE, MAX_FILE_BYTES]).toEqual([50_000, 200_000_000]);
    const three = upload([line('a', vision()), line('b', vision()), line('c', vision())]);
    expect(checkUpload(three, 'u', { maxLines: 3, maxBytes: 1_000_000 }).errors).toEqual([]);
    expect(checkUpload(three, 'u', { maxLines: 2, maxBytes: 1_000_000 }).errors).toEqual(['u: 3 lines, more than 2']);
    expect(checkUpload(three, 'u', { maxLines: 3, maxBytes: 100 }).errors).toEqual([
      expect.stringMatching(/^u: \d+ bytes, more than 100$/),
    ]);
  });

  it('rejects a batch create with unknown properties, another window, too much metadata, or a file it did not upload', () => {
    const uploads = new Map<string, UploadSummary>([
      ['file-1', { lines: 1, bytes: 10, model: 'o4-mini', url: '/v1/responses', customIds: ['a'] }],
    ]);
    const create = {
      input_file_id: 'file-1',
      endpoint: '/v1/responses',
      completion_window: '24h',
      metadata: { job_id: 'j', stage: 'vision' },
    };
    expect(checkBatchCreate(create, 'c', uploads)).toEqual([]);
    expect(checkBatchCreate({ ...create, priority: 'high' }, 'c', uploads).join('\n')).toMatch(/additional properties 'priority'/);
    expect(checkBatchCreate({ ...create, completion_window: '1h' }, 'c', uploads).join('\n')).toMatch(
      /completion_window must be equal to constant/,
    );
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    expect(checkBatchCreate({ ...create, metadata: many }, 'c', uploads).join('\n')).toMatch(/must NOT have more than 16 properties/);
    expect(checkBatchCreate({ ...create, metadata: { job_id: 'x'.repeat(513) } }, 'c', uploads).join('\n')).toMatch(
      /must NOT have more than 512 characters/,
    );
    expect(checkBatchCreate({ ...create, input_file_id: 'file-2' }, 'c', uploads).join('\n')).toMatch(/not a file this run uploaded/);
    expect(checkBatchCreate({ ...create, endpoint: '/v1/chat/completions' }, 'c', uploads).join('\n')).toMatch(
      /differs from its lines' url/,
    );
  });
});
