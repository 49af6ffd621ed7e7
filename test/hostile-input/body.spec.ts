import { gzipSync, brotliCompressSync } from 'node:zlib';
import { canonicalJson } from '../../src/common/json/canonical-json.js';
import { JsonBodyParser } from '../../src/common/body/json-body.parser.js';
import { MAX_BODY_BYTES, MAX_JSON_DEPTH, MAX_JSON_VALUES } from '../../src/common/body/json-limits.js';
import { JsonShapeScanner } from '../../src/common/body/json-shape-scanner.js';
import { postOnFreshConnection, startTestApp, type TestApp } from '../support/app.js';
import { body, countRows, lot, lots, type Json } from '../jobs/jobs-support.js';

/*
 * Issue 8, items 1–4, over real HTTP against real PostgreSQL: every hostile
 * body gets its exact status in the {error, message, code, details?} shape,
 * nothing is stored, and the process keeps answering /health/live.
 */

let t: TestApp;
/** The same database behind an app with tiny limits and a tiny parser heap, to prove the limits' logic cheaply. */
let small: TestApp;
beforeAll(async () => {
  t = await startTestApp({ env: { APP_ROLE: 'api', RATE_LIMIT_BATCH: '10000', RATE_LIMIT_SYNC: '10000', RATE_LIMIT_POLLING: '10000' } });
  small = await startTestApp({
    db: t.db,
    env: { APP_ROLE: 'api', RATE_LIMIT_BATCH: '10000', RATE_LIMIT_SYNC: '10000', RATE_LIMIT_POLLING: '10000' },
    bodyParsing: {
      limits: { maxBytes: 2 * 1024 * 1024, maxValues: 2_000, maxDepth: 8, inlineMaxBytes: 1024 },
      pool: { resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 } },
    },
  });
});
afterAll(async () => {
  await small?.close();
  await t?.close();
});

const GENERATE = '/api/v1/generate-descriptions';
const batch = (count = 2) => ({ version: '1.0.0', languages: ['en'], lots: lots(count) });

function post(app: TestApp, payload: string | Buffer, headers: Record<string, string>, signWith?: string) {
  return app.fetch(GENERATE, { method: 'POST', headers, body: payload, signWith });
}

/** Exact status and code, the documented shape, nothing stored, and the process still alive. */
async function refused(res: Response, status: number, code: string): Promise<Json> {
  const json = await body(res);
  expect({ status: res.status, code: json.code }).toEqual({ status, code });
  expect(Object.keys(json).every((key) => ['error', 'message', 'code', 'details'].includes(key))).toBe(true);
  expect(typeof json.error).toBe('string');
  expect(typeof json.message).toBe('string');
  expect(await countRows(t.db)).toEqual({ jobs: 0, lots: 0 });
  expect((await t.fetch('/health/live')).status).toBe(200);
  expect((await small.fetch('/health/live')).status).toBe(200);
  return json;
}

afterEach(async () => {
  await t.db.query('DELETE FROM batch_jobs');
});

describe('1. only UTF-8 JSON, parsed once from the signed bytes; 415 before the signature', () => {
  /** UTF-7 of `text`: one base64 run of its UTF-16BE code units, as a UTF-7 decoder reads `+…-`. */
  function utf7(text: string): string {
    const be = Buffer.from(text, 'utf16le').swap16();
    return '+' + be.toString('base64').replace(/=+$/, '') + '-';
  }

  test('the UTF-7 smuggling attack: lots A in UTF-8, lots A + attacker lots in UTF-7 → 415, nothing stored', async () => {
    const lotsA = lots(2, 'a');
    const hidden = `","lots":[{"lot_id":"evil","webhook":"http://attacker.example/hook","images":[{"url":"https://x.example/e.jpg"}]}],"z":"`;
    const text = JSON.stringify({ version: '1.0.0', languages: ['en'], lots: lotsA }).slice(0, -1) + `,"note":"${utf7(hidden)}"}`;
    expect(JSON.parse(text).lots).toEqual(lotsA); // what the signature covers, read as UTF-8

    const res = await post(t, text, { 'Content-Type': 'application/json; charset=utf-7' }, canonicalJson(lotsA));
    const json = await refused(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(json.message).toMatch(/charset utf-7/i);

    // The same bytes as UTF-8 are lots A and only lots A.
    const ok = await post(t, text, { 'Content-Type': 'application/json' }, canonicalJson(lotsA));
    expect(ok.status).toBe(201);
    const stored = await t.db.query<{ lot_id: string; webhook_url: string | null }>(
      'SELECT lot_id, webhook_url FROM batch_lots ORDER BY position',
    );
    expect(stored).toEqual([
      { lot_id: 'a-1', webhook_url: null },
      { lot_id: 'a-2', webhook_url: null },
    ]);
  });

  test.each([
    'application/json; charset=utf-7',
    'application/json; charset=UTF-7',
    'application/json; charset=latin1',
    'application/json; charset=iso-8859-1',
    'application/json; charset=utf-16',
    'application/json; charset=utf-16le',
    'application/json; charset=utf8',
    'application/json; charset=ebcdic',
  ])('Content-Type %s → 415 even with a valid signature', async (contentType) => {
    const payload = batch();
    const res = await post(t, JSON.stringify(payload), { 'Content-Type': contentType }, canonicalJson(payload.lots));
    await refused(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test.each([
    ['text/plain', 'text/plain;charset=UTF-8'],
    ['a form', 'application/x-www-form-urlencoded'],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['xml', 'application/xml'],
    ['a charset without a value', 'application/json; charset'],
    ['two charsets', 'application/json; charset=utf-8; charset=utf-7'],
    ['an unterminated quoted charset', 'application/json; charset="utf-7'],
    ['a type without a subtype', 'json'],
  ])('%s → 415 UNSUPPORTED_MEDIA_TYPE, answered before the signature (no signature sent)', async (_name, contentType) => {
    const res = await post(t, JSON.stringify(batch()), { 'Content-Type': contentType });
    await refused(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('no Content-Type on a body → 415, not 401/403', async () => {
    const res = await t.fetch(GENERATE, { method: 'POST', body: new Blob([JSON.stringify(batch())]) });
    expect(res.headers.get('content-type')).toMatch(/json/);
    await refused(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test.each([
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=UTF-8',
    'application/json;charset="utf-8"',
    'application/vnd.x+json',
    'Application/JSON',
  ])('%s is accepted', async (contentType) => {
    const payload = batch();
    const res = await post(t, JSON.stringify(payload), { 'Content-Type': contentType }, canonicalJson(payload.lots));
    expect(res.status).toBe(201);
  });

  test('invalid UTF-8 bytes → 400 INVALID_JSON; a byte-order mark too', async () => {
    const payload = batch();
    const text = JSON.stringify(payload).replace('Vehicle lot-1', 'Vehicle \u00ff');
    const bytes = Buffer.from(text, 'latin1'); // 0xFF alone is never UTF-8
    const res = await post(t, bytes, { 'Content-Type': 'application/json' }, canonicalJson(JSON.parse(text).lots));
    expect((await refused(res, 400, 'INVALID_JSON')).message).toMatch(/UTF-8/);
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(payload))]);
    await refused(await post(t, bom, { 'Content-Type': 'application/json' }, canonicalJson(payload.lots)), 400, 'INVALID_JSON');
  });

  test('gzip, deflate and br bodies are accepted and signed over the decompressed JSON', async () => {
    const payload = batch();
    const text = JSON.stringify(payload);
    for (const [encoding, bytes] of [
      ['gzip', gzipSync(text)],
      ['br', brotliCompressSync(text)],
    ] as const) {
      const res = await post(t, bytes, { 'Content-Type': 'application/json', 'Content-Encoding': encoding }, canonicalJson(payload.lots));
      expect({ encoding, status: res.status }).toEqual({ encoding, status: 201 });
    }
  });

  test.each([['compress'], ['gzip, gzip'], ['zstd']])('Content-Encoding %s → 415', async (encoding) => {
    const res = await post(t, gzipSync(JSON.stringify(batch())), { 'Content-Type': 'application/json', 'Content-Encoding': encoding });
    await refused(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('gzip header on bytes that are not gzip → 400', async () => {
    const res = await post(t, JSON.stringify(batch()), { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
    await refused(res, 400, 'INVALID_JSON');
  });
});

describe('2. bounded work before authentication', () => {
  test('the limits leave a 50,000-lot request with 20 images per lot far from them', () => {
    const lotsOf20 = Array.from({ length: 50_000 }, (_, i) => ({
      lot_id: `lot-${i}`,
      additional_info: 'x',
      webhook: 'https://h.example/w',
      images: Array.from({ length: 20 }, (_, k) => ({ url: `https://i.example/${i}/${k}.jpg` })),
    }));
    const text = Buffer.from(JSON.stringify({ version: '1.0.0', languages: ['en', 'de'], lots: lotsOf20 }));
    const scanner = new JsonShapeScanner({ maxValues: MAX_JSON_VALUES, maxDepth: MAX_JSON_DEPTH });
    scanner.feed(text);
    expect(scanner.values).toBe(50_000 * 45 + 6); // + the body, version, languages and its 2 codes, lots
    expect(scanner.values * 1.3).toBeLessThan(MAX_JSON_VALUES);
    expect(scanner.maxDepthSeen).toBe(5);
    expect(text.length * 1.5).toBeLessThan(MAX_BODY_BYTES);
  });

  test('a gzip bomb (~100 KB inflating to 100 MB of [] values) → 413 at the real value limit', async () => {
    const element = Buffer.from('[],');
    const inflated = Buffer.alloc(100 * 1024 * 1024, element);
    inflated[0] = 0x5b; // '['
    inflated.write('[]]', inflated.length - 3);
    const bomb = gzipSync(inflated, { level: 9 });
    expect(bomb.length).toBeLessThan(200 * 1024);
    const res = await postOnFreshConnection(`${t.url}${GENERATE}`, bomb, {
      'Content-Type': 'application/json',
      'Content-Encoding': 'gzip',
    });
    await t.conformBody('POST', GENERATE, res);
    const json = await refused(new Response(JSON.stringify(res.body), { status: res.status }), 413, 'PAYLOAD_TOO_LARGE');
    expect(json.details).toEqual({ max_values: MAX_JSON_VALUES });
  });

  test('a gzip body inflating past the byte limit → 413 (small limits)', async () => {
    const inflated = Buffer.from(JSON.stringify({ lots: [], pad: 'x'.repeat(3 * 1024 * 1024) }));
    const res = await post(small, gzipSync(inflated), { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, 'null');
    const json = await refused(res, 413, 'PAYLOAD_TOO_LARGE');
    expect(json.details).toEqual({ max_bytes: 2 * 1024 * 1024 });
  });

  test('an uncompressed body of tiny values → 413 at the real value limit', async () => {
    const text = Buffer.alloc(40 * 1024 * 1024, '0,');
    text[0] = 0x5b;
    text.write('0]', text.length - 2);
    const res = await postOnFreshConnection(`${t.url}${GENERATE}`, text, { 'Content-Type': 'application/json' });
    await t.conformBody('POST', GENERATE, res);
    expect((await refused(new Response(JSON.stringify(res.body), { status: res.status }), 413, 'PAYLOAD_TOO_LARGE')).details).toEqual({
      max_values: MAX_JSON_VALUES,
    });
  });

  test('a declared length above the real byte limit → 413 before reading', async () => {
    const res = await postOnFreshConnection(`${t.url}${GENERATE}`, Buffer.alloc(MAX_BODY_BYTES + 1, 0x20), {
      'Content-Type': 'application/json',
    });
    await t.conformBody('POST', GENERATE, res);
    expect((await refused(new Response(JSON.stringify(res.body), { status: res.status }), 413, 'PAYLOAD_TOO_LARGE')).details).toEqual({
      max_bytes: MAX_BODY_BYTES,
    });
  });

  test.each([
    ['one level past the limit', MAX_JSON_DEPTH + 1],
    ['100,000 levels (a stack-overflow attempt)', 100_000],
  ])('nesting %s → 400 JSON_TOO_DEEP, not a 403 or a crash', async (_name, depth) => {
    // The body object is level 1, so `depth - 1` nested arrays make `depth` levels.
    const res = await post(t, `{"lots":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`, { 'Content-Type': 'application/json' }, 'x');
    const json = await refused(res, 400, 'JSON_TOO_DEEP');
    expect(json.details).toEqual({ max_depth: MAX_JSON_DEPTH });
  });

  test(`exactly ${MAX_JSON_DEPTH} levels is still parsed (then refused by the guard: no signature)`, async () => {
    const res = await post(t, `{"lots":${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}}`, {
      'Content-Type': 'application/json',
    });
    await refused(res, 401, 'MISSING_SIGNATURE');
  });

  test('a large legitimate body is parsed in the pool thread and accepted (the worker script resolves under Jest)', async () => {
    const parser = t.app.get(JsonBodyParser);
    const before = parser.pooledBodies;
    const payload = {
      version: '1.0.0',
      languages: ['en', 'de'],
      lots: lots(2_000).map((l) => ({ ...l, additional_info: `Ünïcode ✓ ${'d'.repeat(600)}` })),
    };
    const text = JSON.stringify(payload);
    expect(text.length).toBeGreaterThan(1024 * 1024);
    const res = await post(t, text, { 'Content-Type': 'application/json' }, canonicalJson(payload.lots));
    expect(res.status).toBe(201);
    expect(parser.pooledBodies).toBe(before + 1);
    expect(await countRows(t.db)).toEqual({ jobs: 1, lots: 2_000 });
    const [stored] = await t.db.query<{ additional_info: string }>(`SELECT additional_info FROM batch_lots WHERE lot_id = 'lot-7'`);
    expect(stored.additional_info).toBe(`Ünïcode ✓ ${'d'.repeat(600)}`);
  });

  test("a body that exhausts the parser thread's heap → 413, and the pool recovers", async () => {
    // Within the small app's byte, value and depth limits, but its canonical form (every € becomes \u20ac,
    // one string piece each) needs far more than the 16 MB heap its parser thread has.
    const bulky = `{"lots":["${'€'.repeat(600_000)}"]}`;
    expect(Buffer.byteLength(bulky)).toBeLessThan(2 * 1024 * 1024);
    const parser = small.app.get(JsonBodyParser);
    const before = parser.pooledBodies;
    const res = await post(small, bulky, { 'Content-Type': 'application/json' }, 'x');
    expect((await refused(res, 413, 'PAYLOAD_TOO_LARGE')).message).toMatch(/too costly to parse/);
    const payload = batch(12); // > 1 KB: parsed by a fresh thread of the same pool
    const text = JSON.stringify(payload);
    expect(text.length).toBeGreaterThan(1024);
    const ok = await post(small, text, { 'Content-Type': 'application/json' }, canonicalJson(payload.lots));
    expect(ok.status).toBe(201);
    expect(parser.pooledBodies).toBe(before + 2);
  });
});

describe('2b. a large body becomes objects in event-loop turns, and only once its request is authenticated', () => {
  /** 6,000 lots (three insert chunks, the last one partial) of every shape a lot may take; well above the 1 MB parsed inline. */
  function bigPayload(): Json {
    const variants = (i: number): Json => {
      switch (i % 4) {
        case 0:
          return {
            lot_id: `big-${i}`,
            additional_info: `Vehicle ${i}: Ünïcode ✓ "quoted" \\ ${'d'.repeat(i % 97)}`,
            images: [{ url: `https://img.example.com/${i}/1.jpg` }],
          };
        case 1:
          return {
            lot_id: `big-${i}`,
            webhook: `https://hooks.example.com/${i}`,
            extra: 'not stored',
            images: [{ url: `https://img.example.com/${i}/1.jpg`, alt: 'dropped' }, { url: `https://img.example.com/${i}/2.jpg` }],
          };
        case 2:
          return {
            lot_id: `big-${i} 🚗`,
            additional_info: null,
            images: [{ url: `https://img.example.com/${i}/1.jpg?size=large&n=${i}` }],
          };
        default:
          return {
            lot_id: `big-${i}`,
            additional_info: 'x'.repeat(200),
            webhook: null,
            images: [1, 2, 3].map((k) => ({ url: `https://img.example.com/${i}/${k}.jpg` })),
          };
      }
    };
    return { version: '1.0.0', languages: ['en', 'de'], lots: Array.from({ length: 6_000 }, (_, i) => variants(i)) };
  }

  test('6,000 lots are stored whole, in order and exactly as sent (known fields only), built in turns after the signature guard', async () => {
    const parser = t.app.get(JsonBodyParser);
    const before = { pooled: parser.pooledBodies, inTurns: parser.bodiesBuiltInTurns, atOnce: parser.bodiesBuiltAtOnce };
    const payload = bigPayload();
    const text = JSON.stringify(payload);
    expect(text.length).toBeGreaterThan(1024 * 1024);
    const res = await post(t, text, { 'Content-Type': 'application/json' }, canonicalJson(payload.lots));
    expect(res.status).toBe(201);
    // Built slice by slice by the global BuildBodyGuard, never at once by a later reader of req.body (the rate-limit guard, the pipe).
    expect({ pooled: parser.pooledBodies, inTurns: parser.bodiesBuiltInTurns, atOnce: parser.bodiesBuiltAtOnce }).toEqual({
      pooled: before.pooled + 1,
      inTurns: before.inTurns + 1,
      atOnce: before.atOnce,
    });
    const stored = await t.db.query<Json>(
      'SELECT position, lot_id, additional_info, webhook_url, images FROM batch_lots ORDER BY position',
    );
    expect(stored).toEqual(
      payload.lots.map((sent: Json, position: number) => ({
        position,
        lot_id: sent.lot_id,
        additional_info: sent.additional_info ?? null,
        webhook_url: sent.webhook ?? null,
        images: sent.images.map((image: Json) => ({ url: image.url })),
      })),
    );
    const [job] = await t.db.query<Json>('SELECT total_lots, languages, webhook_configured FROM batch_jobs');
    expect(job).toEqual({ total_lots: 6_000, languages: ['en', 'de'], webhook_configured: true });
  });

  test.each([
    ['a wrong signature', 'not the lots', 403, 'INVALID_SIGNATURE'],
    ['no signature', undefined, 401, 'MISSING_SIGNATURE'],
  ])('with %s the large body is refused and never becomes objects', async (_name, signWith, status, code) => {
    const parser = t.app.get(JsonBodyParser);
    const before = { pooled: parser.pooledBodies, inTurns: parser.bodiesBuiltInTurns, atOnce: parser.bodiesBuiltAtOnce };
    const res = await post(t, JSON.stringify(bigPayload()), { 'Content-Type': 'application/json' }, signWith);
    await refused(res, status, code);
    expect({ pooled: parser.pooledBodies, inTurns: parser.bodiesBuiltInTurns, atOnce: parser.bodiesBuiltAtOnce }).toEqual({
      pooled: before.pooled + 1,
      inTurns: before.inTurns,
      atOnce: before.atOnce,
    });
  });

  test('a repeated "lots" member: the signed, validated and stored lots are the last one, as JSON.parse reads it', async () => {
    const payload = bigPayload();
    const decoy = JSON.stringify([{ lot_id: 'decoy', images: [{ url: 'https://evil.example/x.jpg' }] }]);
    const text = `{"lots":${decoy},${JSON.stringify(payload).slice(1)}`;
    const res = await post(t, text, { 'Content-Type': 'application/json' }, canonicalJson(payload.lots));
    expect(res.status).toBe(201);
    expect(await countRows(t.db)).toEqual({ jobs: 1, lots: 6_000 });
    expect(await t.db.query(`SELECT lot_id FROM batch_lots WHERE lot_id = 'decoy'`)).toEqual([]);
  });

  describe('validation answers of a large body are the ones a small body gets, problems far down the array included', () => {
    const broken = (mutate: (lots: Json[]) => void): Json => {
      const payload = bigPayload();
      mutate(payload.lots);
      return payload;
    };

    test.each([
      [
        '400: structural problems of lots 4,321 and 5,999, in order',
        () =>
          broken((l) => {
            l[4321].images = [];
            l[5999] = { lot_id: '', additional_info: 7, images: [{ href: 'x' }] };
            l[17].webhook = 12;
          }),
        {
          status: 400,
          body: {
            error: 'Validation failed',
            message:
              'lots.17.webhook: must be a string; lots.4321.images: must contain at least 1 image; ' +
              'lots.5999.lot_id: is required and must be a non-empty string; lots.5999.additional_info: must be a string; ' +
              'lots.5999.images.0.url: is required and must be a string',
            code: 'VALIDATION_FAILED',
            details: {
              problems: [
                'lots.17.webhook: must be a string',
                'lots.4321.images: must contain at least 1 image',
                'lots.5999.lot_id: is required and must be a non-empty string',
                'lots.5999.additional_info: must be a string',
                'lots.5999.images.0.url: is required and must be a string',
              ],
            },
          },
        },
      ],
      [
        '422: invalid image URLs far down, each listed once in order of appearance',
        () =>
          broken((l) => {
            l[5000].images = [{ url: 'ftp://a.example/1.jpg' }];
            l[5998].images = [{ url: 'https://ok.example/1.jpg' }, { url: '/relative.jpg' }, { url: 'ftp://a.example/1.jpg' }];
          }),
        {
          status: 422,
          body: {
            error: 'Validation failed',
            message: 'Invalid image URLs detected: only absolute http(s) URLs are accepted',
            code: 'INVALID_IMAGE_URLS',
            details: { invalid_urls: ['ftp://a.example/1.jpg', '/relative.jpg'] },
          },
        },
      ],
      [
        '409: duplicate lot ids far down',
        () =>
          broken((l) => {
            l[5999].lot_id = l[3].lot_id;
            l[5001].lot_id = l[2].lot_id;
          }),
        {
          status: 409,
          body: {
            error: 'Conflict',
            message: 'Duplicate lot_id in one request: big-2 🚗, big-3',
            code: 'DUPLICATE_LOT_ID',
            details: { duplicates: ['big-2 🚗', 'big-3'] },
          },
        },
      ],
    ])('%s', async (_name, make, expected) => {
      const payload = make();
      const res = await post(t, JSON.stringify(payload), { 'Content-Type': 'application/json' }, canonicalJson(payload.lots));
      expect({ status: res.status, body: await refused(res, expected.status, expected.body.code) }).toEqual(expected);
    });
  });
});

describe('3. NUL and lone surrogates → 400 VALIDATION_FAILED naming the field', () => {
  test.each([
    ['lots.0.lot_id', (p: Json) => (p.lots[0].lot_id = 'a\u0000b')],
    ['lots.1.additional_info', (p: Json) => (p.lots[1].additional_info = 'rear\u0000damage')],
    ['version', (p: Json) => (p.version = '1.0\u0000')],
  ])('NUL in %s', async (field, mutate) => {
    const payload = batch();
    mutate(payload);
    const res = await t.postLots(payload);
    const json = await refused(res, 400, 'VALIDATION_FAILED');
    expect(json.details.problems).toEqual([`${field}: must not contain NUL (\\u0000) characters`]);
  });

  test.each([
    ['lots.0.lot_id', (p: Json) => (p.lots[0].lot_id = 'a\ud800')],
    ['lots.1.additional_info', (p: Json) => (p.lots[1].additional_info = '\udc00 rear')],
    ['version', (p: Json) => (p.version = '\ud800')],
    ['lots.0.webhook', (p: Json) => (p.lots[0].webhook = 'https://h.example/\ud83d')],
    ['lots.0.images.0.url', (p: Json) => (p.lots[0].images[0].url = 'https://i.example/\ud800.jpg')],
    ['languages.0', (p: Json) => (p.languages = ['\ud800'])],
    ['lots.1.extra', (p: Json) => (p.lots[1].extra = 'x\udfff')],
  ])('lone surrogate in %s', async (field, mutate) => {
    const payload = batch();
    mutate(payload);
    const res = await t.postLots(payload);
    const json = await refused(res, 400, 'VALIDATION_FAILED');
    expect(json.details.field).toBe(field);
    expect(json.message).toContain(`${field}: contains a lone UTF-16 surrogate`);
  });

  test('a proper surrogate pair (an emoji) is fine', async () => {
    const payload = { version: '1.0.0', languages: ['en'], lots: [lot('emoji-1', { additional_info: 'scratch 🚗' }), lot('emoji-2')] };
    expect((await t.postLots(payload)).status).toBe(201);
  });
});

describe('4. the job list accepts only its documented query parameters', () => {
  test.each([
    ["a bare job id with that job id's signature", (id: string) => [id, id]],
    ['a bare job id with no signature', (id: string) => [id, undefined]],
    ['a bare job id with a wrong signature', (id: string) => [id, 'nope']],
    ['an unknown parameter, signed', () => ['foo=1', 'foo=1']],
    ['a documented parameter plus an unknown one', () => ['limit=5&job_id=x', 'limit=5&job_id=x']],
    ['an empty name', () => ['=x', '=x']],
  ])('%s → 400, never a list', async (_name, make) => {
    const jobRes = await t.postLots(batch());
    const jobId = (await body(jobRes)).job_id as string;
    const [query, signWith] = make(jobId) as [string, string | undefined];
    const res = await t.fetch(`/api/v1/batch-jobs?${query}`, { signWith });
    const json = await body(res);
    expect({ status: res.status, code: json.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(json.jobs).toBeUndefined();
    expect(json.details.problems[0]).toMatch(/is not a query parameter of this route/);
    expect((await t.fetch('/health/live')).status).toBe(200);
  });

  test('the documented parameters still list, signed over the raw query', async () => {
    await t.postLots(batch());
    const query = 'status=pending&limit=5&offset=0&created_after=2020-01-01T00:00:00Z&created_before=2100-01-01T00:00:00Z';
    const res = await t.fetch(`/api/v1/batch-jobs?${query}`, { signWith: query });
    expect(res.status).toBe(200);
    expect((await body(res)).jobs).toHaveLength(1);
  });
});
