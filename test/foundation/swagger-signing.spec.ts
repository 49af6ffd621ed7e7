import { createContext, runInContext } from 'node:vm';
import { createHash, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SWAGGER_SIGNING_SCRIPT } from '../../src/bootstrap/swagger-signing.js';
import { HMAC_SCHEME_DESCRIPTION, SIGNATURE_V2_SCHEME_DESCRIPTION } from '../../src/bootstrap/swagger.js';
import { sign } from '../../src/auth/hmac.js';
import { verifyMessageSignature } from '../../src/auth/http-signatures/index.js';

interface Request {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

/** Runs the browser script against a minimal Swagger UI stand-in and returns its request interceptor. */
function loadInterceptor(): (request: Request) => Promise<Request> {
  const configs: { requestInterceptor?: (request: Request) => Promise<Request> } = {};
  const context = createContext({
    window: { ui: { getConfigs: () => configs } },
    location: { href: 'http://localhost:5000/docs' },
    URL,
    TextEncoder,
    crypto: webcrypto,
    atob,
    btoa,
    setTimeout,
    Array,
    String,
    Object,
    JSON,
  });
  runInContext(SWAGGER_SIGNING_SCRIPT, context);
  if (!configs.requestInterceptor) throw new Error('the script did not install a request interceptor');
  return configs.requestInterceptor;
}

const KEY = 'swagger-ui-user-typed-this-shared-key-123';
const golden = JSON.parse(readFileSync(new URL('../fixtures/hmac-vectors.json', import.meta.url), 'utf8'));

test('signs a generate request over the canonical lots, like the server expects', async () => {
  const intercept = loadInterceptor();
  for (const vector of golden.vectors.filter((v: { name: string }) => !['floats', 'integers'].includes(v.name))) {
    const request = await intercept({
      url: 'http://localhost:5000/api/v1/generate-descriptions',
      method: 'POST',
      headers: { 'X-Signature': golden.key },
      body: vector.body,
    });
    expect([vector.name, request.headers['X-Signature']]).toEqual([vector.name, vector.signature]);
  }
});

test('signs job routes over the job id and the list over its query string', async () => {
  const intercept = loadInterceptor();
  const job = '550e8400-e29b-41d4-a716-446655440000';
  for (const path of [
    `/api/v1/batch-status/${job}`,
    `/api/v1/batch-results/${job}/download`,
    `/api/v1/batch-jobs/${job}/cancel`,
    `/api/v1/jobs/${job}`,
  ]) {
    const request = await intercept({ url: `http://localhost:5000${path}`, method: 'GET', headers: { 'X-Signature': KEY } });
    expect([path, request.headers['X-Signature']]).toEqual([path, sign(KEY, job)]);
  }
  const list = await intercept({
    url: 'http://localhost:5000/api/v1/batch-jobs?status=completed&limit=5',
    method: 'GET',
    headers: { 'X-Signature': KEY },
  });
  expect(list.headers['X-Signature']).toBe(sign(KEY, 'status=completed&limit=5'));
  const empty = await intercept({ url: 'http://localhost:5000/api/v1/batch-jobs', method: 'GET', headers: { 'X-Signature': KEY } });
  expect(empty.headers['X-Signature']).toBe(sign(KEY, ''));
});

test('leaves ready-made signatures and non-API requests alone', async () => {
  const intercept = loadInterceptor();
  const ready = sign(KEY, 'x');
  expect(
    (await intercept({ url: 'http://localhost:5000/api/v1/batch-status/x', method: 'GET', headers: { 'X-Signature': ready } })).headers[
      'X-Signature'
    ],
  ).toBe(ready);
  expect(
    (await intercept({ url: 'http://localhost:5000/health', method: 'GET', headers: { 'X-Signature': KEY } })).headers['X-Signature'],
  ).toBe(KEY);
});

describe('Signature v2 (RFC 9421) from the rfc9421 Basic fields', () => {
  const KEY_ID = 'k_swagger';
  const SECRET = Buffer.from('swagger-ui-v2-secret-bytes-0123456789').toString('base64');
  const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

  /** Verifies what the browser produced as the server would: lowercase headers, path and query as sent. */
  function verifyAsServer(request: Request, body = request.body, secret = SECRET) {
    const url = new URL(request.url);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    return verifyMessageSignature(
      { method: request.method, url: url.pathname + url.search, headers },
      {
        bodyDigest: body === undefined ? null : createHash('sha256').update(body).digest(),
        lookupKey: (keyId) =>
          Promise.resolve(keyId === KEY_ID ? { algorithm: 'hmac-sha256' as const, key: Buffer.from(secret, 'base64') } : null),
      },
    );
  }

  test('polling, list and generate requests verify with the server-side verifier', async () => {
    const intercept = loadInterceptor();
    const body = golden.vectors[0].body as string;
    const requests = [
      { url: 'http://localhost:5000/api/v1/batch-status/550e8400-e29b-41d4-a716-446655440000', method: 'GET' },
      { url: 'http://localhost:5000/api/v1/batch-jobs?status=completed&limit=5', method: 'GET' },
      { url: 'http://localhost:5000/api/v1/generate-descriptions', method: 'POST', body },
    ];
    for (const request of requests) {
      const signed = await intercept({ ...request, headers: { Authorization: basic(KEY_ID, SECRET), 'Content-Type': 'application/json' } });
      expect(Object.keys(signed.headers).sort()).toEqual(
        request.body
          ? ['Content-Digest', 'Content-Type', 'Signature', 'Signature-Input']
          : ['Content-Type', 'Signature', 'Signature-Input'],
      );
      const result = await verifyAsServer(signed);
      expect([request.url, result]).toEqual([
        request.url,
        expect.objectContaining({
          ok: true,
          keyId: KEY_ID,
          algorithm: 'hmac-sha256',
          components: request.body ? ['@method', '@path', '@query', 'content-digest'] : ['@method', '@path', '@query'],
        }),
      ]);
    }
  });

  test('the Content-Digest is real and the nonce fresh: a changed body or another secret is refused', async () => {
    const intercept = loadInterceptor();
    const request = () =>
      intercept({
        url: 'http://localhost:5000/api/v1/generate-descriptions',
        method: 'POST',
        headers: { Authorization: basic(KEY_ID, SECRET) },
        body: '{"lots":[]}',
      });
    const first = await request();
    const second = await request();
    const nonce = (r: Request) => /;nonce="([0-9a-f]{32})"/.exec(r.headers['Signature-Input'])![1];
    expect(nonce(first)).not.toBe(nonce(second));
    expect(await verifyAsServer(first, '{"lots":[{}]}')).toMatchObject({ ok: false, reason: 'digest_mismatch' });
    const otherSecret = Buffer.from('another secret').toString('base64');
    expect(await verifyAsServer(first, undefined, otherSecret)).toMatchObject({ ok: false, reason: 'invalid_signature' });
  });

  test('v2 wins over a SHARED_KEY typed under hmac, which is not sent; credentials never leave the page', async () => {
    const intercept = loadInterceptor();
    const both = await intercept({
      url: 'http://localhost:5000/api/v1/batch-status/x',
      method: 'GET',
      headers: { Authorization: basic(KEY_ID, SECRET), 'X-Signature': KEY },
    });
    expect(both.headers['X-Signature']).toBeUndefined();
    expect(both.headers.Authorization).toBeUndefined();
    expect(await verifyAsServer(both)).toMatchObject({ ok: true });
    const health = await intercept({
      url: 'http://localhost:5000/health',
      method: 'GET',
      headers: { authorization: basic(KEY_ID, SECRET) },
    });
    expect(health.headers).toEqual({});
  });
});

test('scheme descriptions keep their <placeholders> inside Markdown code spans (else rendered as swallowed HTML tags)', () => {
  for (const description of [HMAC_SCHEME_DESCRIPTION, SIGNATURE_V2_SCHEME_DESCRIPTION]) {
    const outsideCode = description.replace(/`[^`]*`/g, '');
    expect([description, /[<>]/.test(outsideCode)]).toEqual([description, false]);
  }
  expect(HMAC_SCHEME_DESCRIPTION).toContain('sha256=<hex HMAC>');
});
