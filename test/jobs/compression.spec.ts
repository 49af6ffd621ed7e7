import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { sign } from '../../src/auth/hmac.js';
import { startTestApp, TEST_SHARED_KEY, type TestApp } from '../support/app.js';
import { createBatch, finishJob } from './jobs-support.js';

/*
 * Response compression (issue 12): br and gzip as Accept-Encoding asks, for
 * the streamed results download as for JSON answers and the docs; small
 * answers, probes and the management port uncompressed. Raw HTTP here, since
 * fetch would decompress (and ask for compression) on its own.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: Buffer;
}

function get(base: string, path: string, headers: Record<string, string>): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    request(base + path, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes: Buffer.concat(chunks) }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

function decoded(answer: RawAnswer): Buffer {
  switch (answer.headers['content-encoding']) {
    case 'gzip':
      return gunzipSync(answer.bytes);
    case 'br':
      return brotliDecompressSync(answer.bytes);
    case undefined:
      return answer.bytes;
    default:
      throw new Error(`unexpected Content-Encoding ${String(answer.headers['content-encoding'])}`);
  }
}

describe('the streamed results download', () => {
  let jobId: string;
  let path: string;
  let identity: RawAnswer;
  const signed = (extra: Record<string, string> = {}) => ({ 'X-Signature': sign(TEST_SHARED_KEY, jobId), ...extra });

  beforeAll(async () => {
    jobId = await createBatch(t, 1_500, { languages: ['en', 'de'] });
    await finishJob(t.db, jobId);
    path = `/api/v1/batch-results/${jobId}/download`;
    identity = await get(t.url, path, signed({ 'Accept-Encoding': 'identity' }));
  });

  test('Accept-Encoding: identity → uncompressed, chunked, and the whole document', async () => {
    expect(identity.status).toBe(200);
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(identity.headers['vary']).toMatch(/Accept-Encoding/i);
    expect(identity.bytes.length).toBeGreaterThan(300_000);
    const document = JSON.parse(identity.bytes.toString('utf8'));
    expect(document.results.lots).toHaveLength(1_500);
    await t.conformBody('GET', path, { status: identity.status, body: document });
  });

  test.each([
    ['gzip', 'gzip'],
    ['br', 'br'],
    ['gzip, deflate, br', 'br'],
    ['br;q=0.5, gzip;q=1.0', 'gzip'],
    ['gzip;q=0, br;q=0.8, identity;q=0.1', 'br'],
  ])('Accept-Encoding: %s → %s, byte-identical to the identity download once decompressed', async (accept, encoding) => {
    const answer = await get(t.url, path, signed({ 'Accept-Encoding': accept }));
    expect(answer.status).toBe(200);
    expect(answer.headers['content-encoding']).toBe(encoding);
    expect(answer.headers['content-length']).toBeUndefined(); // still streamed, never buffered to measure it
    expect(answer.headers['vary']).toMatch(/Accept-Encoding/i);
    expect(answer.headers['content-disposition']).toBe(`attachment; filename="batch_results_${jobId}.json"`);
    expect(answer.bytes.length).toBeLessThan(identity.bytes.length / 5);
    expect(decoded(answer).equals(identity.bytes)).toBe(true);
  });

  test('no Accept-Encoding, or only unsupported or refused codings → uncompressed', async () => {
    for (const headers of [signed(), signed({ 'Accept-Encoding': 'compress' }), signed({ 'Accept-Encoding': 'gzip;q=0, br;q=0' })]) {
      const answer = await get(t.url, path, headers);
      expect([headers, answer.headers['content-encoding']]).toEqual([headers, undefined]);
      expect(answer.bytes.equals(identity.bytes)).toBe(true);
    }
  });

  test('GET /batch-results/{job_id} (the same document, not as an attachment) is compressed too', async () => {
    const answer = await get(t.url, `/api/v1/batch-results/${jobId}`, signed({ 'Accept-Encoding': 'br' }));
    expect(answer.headers['content-encoding']).toBe('br');
    expect(decoded(answer).equals(identity.bytes)).toBe(true);
  });
});

test('JSON answers above ~1 KB are compressed; small ones are not', async () => {
  const jobId = await createBatch(t, 2);
  const small = await get(t.url, `/api/v1/batch-status/${jobId}`, {
    'X-Signature': sign(TEST_SHARED_KEY, jobId),
    'Accept-Encoding': 'gzip, br',
  });
  expect(small.status).toBe(200);
  expect(small.bytes.length).toBeLessThan(1024);
  expect(small.headers['content-encoding']).toBeUndefined();
  expect(small.headers['vary']).toMatch(/Accept-Encoding/i);

  for (let i = 0; i < 3; i++) await createBatch(t, 2); // 4 list items of ~400 bytes: above the threshold
  const list = await get(t.url, '/api/v1/batch-jobs?limit=20', {
    'X-Signature': sign(TEST_SHARED_KEY, 'limit=20'),
    'Accept-Encoding': 'gzip',
  });
  expect(list.status).toBe(200);
  expect(list.headers['content-encoding']).toBe('gzip');
  const body = JSON.parse(gunzipSync(list.bytes).toString('utf8')) as { jobs: unknown[]; pagination: { total: number } };
  const [{ n }] = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM batch_jobs');
  expect(body.pagination.total).toBe(n);
  expect(body.jobs).toHaveLength(n);
  await t.conformBody('GET', '/api/v1/batch-jobs?limit=20', { status: 200, body });
});

test('the OpenAPI document and Swagger UI assets are compressed', async () => {
  const document = await get(t.url, '/docs-json', { 'Accept-Encoding': 'br' });
  expect(document.headers['content-encoding']).toBe('br');
  expect(JSON.parse(decoded(document).toString('utf8'))).toMatchObject({ openapi: expect.stringMatching(/^3\./) });
  const bundle = await get(t.url, '/docs/swagger-ui-bundle.js', { 'Accept-Encoding': 'gzip' });
  expect(bundle.status).toBe(200);
  expect(bundle.headers['content-encoding']).toBe('gzip');
  expect(decoded(bundle).length).toBeGreaterThan(bundle.bytes.length * 2);
});

test('probes and the management port are never compressed', async () => {
  for (const path of ['/health', '/health/live', '/health/ready']) {
    const answer = await get(t.url, path, { 'Accept-Encoding': 'gzip, br' });
    expect([path, answer.headers['content-encoding'], /Accept-Encoding/i.test(String(answer.headers.vary))]).toEqual([
      path,
      undefined,
      false,
    ]);
  }
  const metrics = await get(t.managementUrl, '/metrics', { 'Accept-Encoding': 'gzip, br' });
  expect(metrics.status).toBe(200);
  expect(metrics.bytes.length).toBeGreaterThan(1024);
  expect(metrics.headers['content-encoding']).toBeUndefined();
});
