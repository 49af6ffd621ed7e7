import { startTestApp, type TestApp } from '../support/app.js';
import { body, countRows, lot, lots, type Json } from './jobs-support.js';

/*
 * Every rule of SPEC §8 on POST /generate-descriptions, and that nothing is
 * stored for a rejected request (each case checks the tables stay empty).
 */

let t: TestApp;
beforeAll(async () => {
  // APP_ROLE=api: no worker touches the jobs; generous budgets: this file is not about rate limits.
  t = await startTestApp({ env: { APP_ROLE: 'api', RATE_LIMIT_BATCH: '10000', RATE_LIMIT_SYNC: '10000' } });
});
afterAll(() => t.close());

async function rejected(payload: Record<string, unknown> & { lots: unknown[] }, status: number): Promise<Json> {
  const res = await t.postLots(payload);
  const json = await body(res);
  expect({ status: res.status, json }).toEqual({ status, json: expect.objectContaining({ code: expect.any(String) }) });
  expect(Object.keys(json).every((key) => ['error', 'message', 'code', 'details'].includes(key))).toBe(true);
  expect(await countRows(t.db)).toEqual({ jobs: 0, lots: 0 });
  return json;
}

describe('rejected requests store nothing', () => {
  test('no lots → 400 with a clear message', async () => {
    expect(await rejected({ version: '1.0.0', languages: ['en'], lots: [] }, 400)).toEqual({
      error: 'Validation failed',
      message: 'lots: must contain at least 1 lot',
      code: 'VALIDATION_FAILED',
      details: { problems: ['lots: must contain at least 1 lot'] },
    });
  });

  test('lots missing or not an array → 400', async () => {
    const res = await t.fetch('/api/v1/generate-descriptions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ lots: 'x' }),
      signWith: '"x"',
    });
    expect(res.status).toBe(400);
    expect((await body(res)).message).toBe('lots: is required and must be an array of lots');
  });

  test('more lots than MAX_BATCH_SIZE → 413 BATCH_SIZE_EXCEEDED exactly as reference 002', async () => {
    const many = Array.from({ length: 50_001 }, (_, i) => ({ lot_id: String(i), images: [{ url: 'https://a.b/c.jpg' }] }));
    expect(await rejected({ version: '1.0.0', languages: ['en'], lots: many }, 413)).toEqual({
      error: 'Request too large',
      message: 'Batch size exceeds maximum limit of 50,000 lots',
      code: 'BATCH_SIZE_EXCEEDED',
      details: { provided_lots: 50_001, max_allowed: 50_000 },
    });
  });

  test('more than 20 images in synchronous mode → 422 TOO_MANY_IMAGES', async () => {
    const images = Array.from({ length: 21 }, (_, i) => ({ url: `https://img.example.com/${i}.jpg` }));
    expect(await rejected({ languages: ['en'], lots: [lot('sync-1', { images })] }, 422)).toEqual({
      error: 'Validation failed',
      message: 'A synchronous request accepts at most 20 images per lot; use batch mode for more',
      code: 'TOO_MANY_IMAGES',
      details: { lot_id: 'sync-1', provided_images: 21, max_allowed: 20 },
    });
  });

  test('a lot without images, without lot_id, or with oversized fields → 400 listing each problem', async () => {
    const json = await rejected(
      {
        languages: ['en'],
        lots: [
          { lot_id: 'a', images: [] },
          { images: [{ url: 'https://a.b/c.jpg' }] },
          { lot_id: '   ', images: [{ url: 'https://a.b/c.jpg' }] },
          { lot_id: 'x'.repeat(257), images: [{ url: 'https://a.b/c.jpg' }] },
          { lot_id: 'd', additional_info: 'y'.repeat(10_001), images: [{ url: 'https://a.b/c.jpg' }] },
          { lot_id: 'e', images: [{ href: 'https://a.b/c.jpg' }] },
          'not a lot',
        ],
      },
      400,
    );
    expect(json.code).toBe('VALIDATION_FAILED');
    expect(json.details.problems).toEqual([
      'lots.0.images: must contain at least 1 image',
      'lots.1.lot_id: is required and must be a non-empty string',
      'lots.2.lot_id: is required and must be a non-empty string',
      'lots.3.lot_id: must be at most 256 characters',
      'lots.4.additional_info: must be at most 10000 characters (got 10001)',
      'lots.5.images.0.url: is required and must be a string',
      'lots.6: must be an object',
    ]);
    expect(json.message).toMatch(/; and 2 more$/);
  });

  test('version must be a short string', async () => {
    const json = await rejected({ version: 2, languages: ['en'], lots: lots(2) }, 400);
    expect(json.details.problems).toEqual(['version: must be a non-empty string of at most 32 characters, e.g. "1.0.0"']);
  });

  test('more than 10 languages → 422 TOO_MANY_LANGUAGES', async () => {
    const languages = ['en', 'de', 'fr', 'es', 'it', 'pt', 'nl', 'pl', 'ru', 'uk', 'ja'];
    expect(await rejected({ languages, lots: lots(2) }, 422)).toEqual({
      error: 'Validation failed',
      message: 'At most 10 languages per request',
      code: 'TOO_MANY_LANGUAGES',
      details: { provided_languages: 11, max_allowed: 10 },
    });
  });

  test('unknown language codes → 422 UNSUPPORTED_LANGUAGE naming each', async () => {
    expect(await rejected({ languages: ['en', 'xx', 'klingon', 'en-ZZ'], lots: lots(2) }, 422)).toEqual({
      error: 'Validation failed',
      message: 'Unsupported language codes: xx, klingon, en-ZZ',
      code: 'UNSUPPORTED_LANGUAGE',
      details: { unsupported: ['xx', 'klingon', 'en-ZZ'] },
    });
  });

  test('languages of the wrong type or empty → 400', async () => {
    expect((await rejected({ languages: [], lots: lots(2) }, 400)).details.problems).toEqual([
      'languages: must contain at least 1 language code',
    ]);
    expect((await rejected({ languages: 'en', lots: lots(2) }, 400)).details.problems).toEqual([
      'languages: must be an array of language codes, e.g. ["en", "de"]',
    ]);
    expect((await rejected({ languages: ['en', 5], lots: lots(2) }, 400)).details.problems).toEqual([
      'languages: every language code must be a string',
    ]);
  });

  test('non-http(s) image URLs → 422 INVALID_IMAGE_URLS listing every bad one once', async () => {
    const bad = [
      'ftp://example.com/car.jpg',
      'javascript:alert(1)',
      '/relative/car.jpg',
      'https://',
      'http://exa mple.com/a.jpg',
      ' https://a.b/lead.jpg',
      `https://a.b/${'x'.repeat(2100)}`,
    ];
    const json = await rejected(
      {
        languages: ['en'],
        lots: [
          lot('a', { images: [{ url: 'https://ok.example.com/1.jpg' }, ...bad.slice(0, 4).map((url) => ({ url }))] }),
          lot('b', { images: [...bad.slice(3).map((url) => ({ url })), { url: bad[0] }] }),
        ],
      },
      422,
    );
    expect(json).toEqual({
      error: 'Validation failed',
      message: 'Invalid image URLs detected: only absolute http(s) URLs are accepted',
      code: 'INVALID_IMAGE_URLS',
      details: { invalid_urls: bad },
    });
  });

  test('a webhook that is not an http(s) URL → 422 INVALID_WEBHOOK_URL', async () => {
    expect(await rejected({ languages: ['en'], lots: [lot('a', { webhook: 'mailto:ops@example.com' }), lot('b')] }, 422)).toEqual({
      error: 'Validation failed',
      message: 'Invalid webhook URL: only absolute http(s) URLs are accepted',
      code: 'INVALID_WEBHOOK_URL',
      details: { invalid_urls: ['mailto:ops@example.com'] },
    });
  });

  test('duplicate lot_id → 409 DUPLICATE_LOT_ID', async () => {
    expect(await rejected({ languages: ['en'], lots: [lot('a'), lot('b'), lot('a'), lot('b'), lot('c')] }, 409)).toEqual({
      error: 'Conflict',
      message: 'Duplicate lot_id in one request: a, b',
      code: 'DUPLICATE_LOT_ID',
      details: { duplicates: ['a', 'b'] },
    });
  });

  test('malformed JSON → 400 INVALID_JSON', async () => {
    const res = await t.fetch('/api/v1/generate-descriptions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"lots": [',
      signWith: 'x',
    });
    expect(res.status).toBe(400);
    expect(await body(res)).toEqual({ error: 'Invalid request format', message: 'Request body must be valid JSON', code: 'INVALID_JSON' });
    expect(await countRows(t.db)).toEqual({ jobs: 0, lots: 0 });
  });

  test('the signature is checked before validation: an invalid body with a bad signature is a 403', async () => {
    const res = await t.fetch('/api/v1/generate-descriptions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Signature': 'sha256=' + '0'.repeat(64) },
      body: JSON.stringify({ lots: [] }),
    });
    expect(res.status).toBe(403);
    expect((await body(res)).code).toBe('INVALID_SIGNATURE');
  });
});

describe('accepted variants', () => {
  test('languages are matched case-insensitively, deduplicated, and default to ["en"]', async () => {
    const res = await t.postLots({ version: '1.0.0', languages: ['EN', 'pt-br', 'de', 'de', 'zh_cn'], lots: lots(2, 'lang') });
    expect(res.status).toBe(201);
    expect((await body(res)).languages).toEqual(['en', 'pt-BR', 'de', 'zh-CN']);

    const defaulted = await t.postLots({ lots: lots(2, 'default') });
    expect(defaulted.status).toBe(201);
    const json = await body(defaulted);
    expect(json.languages).toEqual(['en']);
    const [job] = await t.db.query('SELECT version, languages FROM batch_jobs WHERE id = $1', [json.job_id]);
    expect(job).toEqual({ version: '1.0.0', languages: ['en'] });
  });

  test('the 20-image cap is for synchronous mode only; unknown fields are not stored', async () => {
    const images = Array.from({ length: 25 }, (_, i) => ({ url: `https://img.example.com/${i}.jpg`, caption: 'stripped' }));
    const res = await t.postLots({ languages: ['en'], lots: [lot('many', { images, color: 'red' } as never), lot('few')] });
    expect(res.status).toBe(201);
    const [row] = await t.db.query("SELECT images FROM batch_lots WHERE lot_id = 'many'");
    expect(row.images).toEqual(images.map(({ url }) => ({ url })));
  });
});
