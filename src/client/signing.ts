/**
 * How a client signs a request (SPEC §4), apart from any HTTP library so that a generated client can reuse it:
 * - seed scheme: `X-Signature: sha256=<hex HMAC(SHARED_KEY, subject)>` over the route's subject;
 * - v2 (RFC 9421): Signature-Input, Signature and, with a body, Content-Digest, with the client's own key.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { signRequest } from '../auth/http-signatures/index.js';
import { sign } from '../auth/hmac.js';

/** An HMAC client key: `secret` is the base64 text the CLI printed; the HMAC key is its decoded bytes. */
export interface HmacV2Credentials {
  keyId: string;
  secret: string;
}

/** An Ed25519 client key: the private key (a KeyObject or PKCS#8 PEM); the service holds the public half. */
export interface Ed25519V2Credentials {
  keyId: string;
  privateKey: KeyObject | string;
}

export type V2Credentials = HmacV2Credentials | Ed25519V2Credentials;

/** `SHARED_KEY` (seed scheme) or a client key (v2). */
export type ClientAuth = string | V2Credentials;

export interface RequestToSign {
  method: string;
  /** The absolute URL the request goes to. */
  url: string;
  /** The exact body text that will be sent. */
  body?: string;
  /** What the seed scheme signs for this route: canonical lots, the job id, or the raw query. */
  seedSubject: string;
}

/** Returns the headers to add to a request. */
export type RequestSigner = (request: RequestToSign) => Record<string, string>;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$|^[A-Za-z0-9_-]+$/;

export function createRequestSigner(auth: ClientAuth, clock: () => number = Date.now): RequestSigner {
  if (typeof auth === 'string') return ({ seedSubject }) => ({ 'X-Signature': sign(auth, seedSubject) });

  const { keyId } = auth;
  let algorithm: 'hmac-sha256' | 'ed25519';
  let key: Buffer | KeyObject;
  if ('secret' in auth) {
    if (!BASE64.test(auth.secret)) throw new TypeError('the v2 HMAC secret must be the base64 text the service issued');
    algorithm = 'hmac-sha256';
    key = Buffer.from(auth.secret, 'base64'); // node reads both alphabets
  } else {
    algorithm = 'ed25519';
    key = typeof auth.privateKey === 'string' ? createPrivateKey(auth.privateKey) : auth.privateKey;
    if (key.asymmetricKeyType !== 'ed25519') throw new TypeError('the v2 private key must be an Ed25519 key');
  }
  return ({ method, url, body }) => {
    const target = new URL(url);
    const headers = signRequest(
      { method, url: target.pathname + target.search, body },
      { keyId, algorithm, key, created: Math.floor(clock() / 1000) },
    );
    const out: Record<string, string> = { 'Signature-Input': headers['signature-input'], Signature: headers.signature };
    if (headers['content-digest'] !== undefined) out['Content-Digest'] = headers['content-digest'];
    return out;
  };
}
