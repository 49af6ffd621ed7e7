/** The TypeScript client signs with RFC 9421 (client key) or the seed scheme (SHARED_KEY), checked by a loopback server. */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyMessageSignature, type SignatureVerification, type VerificationKey } from '../../../src/auth/http-signatures/index.js';
import { sign } from '../../../src/auth/hmac.js';
import { canonicalJson } from '../../../src/common/json/canonical-json.js';
import { GenerationClient } from '../../../src/client/generation-client.js';
import { createRequestSigner } from '../../../src/client/signing.js';

const SECRET_BASE64 = 'q83vASNFZ4mrze8BI0VniavN7wEjRWeJq83vASNFZ4k=';
const ed = generateKeyPairSync('ed25519');
const KEYS: Record<string, VerificationKey> = {
  'k-hmac': { algorithm: 'hmac-sha256', key: Buffer.from(SECRET_BASE64, 'base64') },
  'k-ed': { algorithm: 'ed25519', key: ed.publicKey },
};

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  verification: SignatureVerification;
}
let server: Server;
let baseUrl: string;
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      void verifyMessageSignature(
        { method: request.method!, url: request.url!, headers: request.headers },
        { bodyDigest: createHash('sha256').update(body).digest(), lookupKey: (keyId) => Promise.resolve(KEYS[keyId] ?? null) },
      ).then((verification) => {
        seen.push({ method: request.method!, url: request.url!, headers: request.headers, verification });
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify({ status: 'completed' }));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => seen.splice(0));

const lots = [{ lot_id: 'L1', images: [{ url: 'https://img.example/1.jpg' }] }];

test.each([
  ['HMAC (base64 secret)', { keyId: 'k-hmac', secret: SECRET_BASE64 }, 'hmac-sha256'],
  ['Ed25519 (PEM)', { keyId: 'k-ed', privateKey: ed.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }, 'ed25519'],
  ['Ed25519 (KeyObject)', { keyId: 'k-ed', privateKey: ed.privateKey }, 'ed25519'],
])('v2 with %s: polling, list and generate requests verify on the server', async (_name, auth, algorithm) => {
  const client = new GenerationClient(baseUrl, auth);
  await client.status('550e8400-e29b-41d4-a716-446655440000');
  await client.list({ status: 'completed', limit: 5 });
  await client.generate({ version: '1.0.0', languages: ['en'], lots });
  expect(seen.map((s) => [s.method, s.url, s.verification])).toEqual([
    [
      'GET',
      '/api/v1/batch-status/550e8400-e29b-41d4-a716-446655440000',
      expect.objectContaining({ ok: true, algorithm, components: ['@method', '@path', '@query'] }),
    ],
    ['GET', '/api/v1/batch-jobs?status=completed&limit=5', expect.objectContaining({ ok: true, algorithm })],
    [
      'POST',
      '/api/v1/generate-descriptions',
      expect.objectContaining({ ok: true, algorithm, components: ['@method', '@path', '@query', 'content-digest'] }),
    ],
  ]);
  expect(seen.every((s) => s.headers['x-signature'] === undefined)).toBe(true);
});

test('the seed scheme is unchanged: X-Signature over the route subject, no RFC 9421 headers', async () => {
  const sharedKey = 'a-shared-key-of-at-least-thirty-two-characters';
  const client = new GenerationClient(baseUrl, sharedKey);
  await client.status('job-1');
  await client.list({ limit: 5 });
  await client.generate({ version: '1.0.0', languages: ['en'], lots });
  expect(seen.map((s) => s.headers['x-signature'])).toEqual([
    sign(sharedKey, 'job-1'),
    sign(sharedKey, 'limit=5'),
    sign(sharedKey, canonicalJson(lots)),
  ]);
  expect(seen.map((s) => s.verification.ok || s.verification.reason)).toEqual(['missing', 'missing', 'missing']);
});

test('a client key that is not usable is refused when the client is built', () => {
  expect(() => createRequestSigner({ keyId: 'k', secret: 'not base64!' })).toThrow(/base64/);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  expect(() => createRequestSigner({ keyId: 'k', privateKey: rsa.privateKey })).toThrow(/Ed25519/);
});
