import { createContext, runInContext } from 'node:vm';
import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SWAGGER_SIGNING_SCRIPT } from '../../src/bootstrap/swagger-signing.js';
import { sign } from '../../src/auth/hmac.js';

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
