import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { signRequest, type SignRequestOptions } from '../../src/auth/http-signatures/index.js';

/** A client key as a test holds it: what `signRequest` needs. */
export interface TestKey {
  keyId: string;
  algorithm: 'hmac-sha256' | 'ed25519';
  key: Buffer | KeyObject;
}

export const hmacKey = (keyId: string, secretBase64: string): TestKey => ({
  keyId,
  algorithm: 'hmac-sha256',
  key: Buffer.from(secretBase64, 'base64'),
});

/** A fresh Ed25519 pair: the private key signs, `publicKeyBase64` (raw 32 bytes) is what the server registers. */
export function ed25519Pair(): { privateKey: KeyObject; publicKeyBase64: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  return {
    privateKey: createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' })),
    publicKeyBase64: Buffer.from(jwk.x!, 'base64url').toString('base64'),
  };
}

export interface V2Request {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Overrides of the signature parameters (an old `created`, a fixed nonce). */
  sign?: Partial<Pick<SignRequestOptions, 'created' | 'nonce' | 'expires' | 'components'>>;
}

/** The headers and bytes of one RFC 9421-signed request, to send (or replay, or tamper with) later. */
export function signedRequest(
  key: TestKey,
  path: string,
  request: V2Request = {},
): { method: string; headers: Record<string, string>; body?: Buffer } {
  const method = request.method ?? (request.body === undefined ? 'GET' : 'POST');
  const body = request.body === undefined ? undefined : Buffer.from(JSON.stringify(request.body));
  const signature = signRequest({ method, url: path, body }, { ...key, ...request.sign });
  const headers: Record<string, string> = { ...request.headers, ...signature };
  if (body) headers['content-type'] = 'application/json';
  return { method, headers, body };
}

/** fetch() of a request `signedRequest` built. */
export function send(
  base: string,
  path: string,
  request: { method: string; headers: Record<string, string>; body?: Buffer },
): Promise<Response> {
  return fetch(base + path, { method: request.method, headers: request.headers, body: request.body });
}

/** Signs and sends in one step. */
export function v2Fetch(base: string, key: TestKey, path: string, request: V2Request = {}): Promise<Response> {
  return send(base, path, signedRequest(key, path, request));
}
