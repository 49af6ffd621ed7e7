/**
 * RFC 9530 Content-Digest, `sha-256` only: the header a signer sends and the check a verifier makes
 * against the SHA-256 of the body bytes as received.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { parseSfDictionary, type SfDictionary } from './fields.js';

/** Longer Content-Digest values are refused unparsed (a sha-256 and a sha-512 member fit in ~150 bytes). */
export const MAX_CONTENT_DIGEST_LENGTH = 1024;

/** SHA-256 of the empty body: what a request without a body is compared against. */
export const EMPTY_BODY_SHA256: Buffer = createHash('sha256').digest();

/** `sha-256=:<base64>:` for `body` (a string is hashed as UTF-8). */
export function contentDigestHeader(body: Buffer | Uint8Array | string): string {
  return 'sha-256=:' + createHash('sha256').update(body).digest('base64') + ':';
}

export type ContentDigestParse = { ok: true; sha256: Buffer } | { ok: false; message: string };

/** The `sha-256` member of a Content-Digest value; other algorithms are ignored, but `sha-256` is required. */
export function parseContentDigest(header: string): ContentDigestParse {
  if (header.length > MAX_CONTENT_DIGEST_LENGTH)
    return { ok: false, message: `Content-Digest longer than ${MAX_CONTENT_DIGEST_LENGTH} bytes` };
  let members: SfDictionary;
  try {
    members = parseSfDictionary(header);
  } catch (error) {
    return { ok: false, message: `Content-Digest is not a Structured Fields dictionary: ${(error as Error).message}` };
  }
  const member = members.get('sha-256');
  if (member === undefined) {
    const present = [...members.keys()].join(', ') || 'none';
    return { ok: false, message: `Content-Digest has no sha-256 member (algorithms present: ${present}); sha-256 is required` };
  }
  const value = member[0];
  if (!(value instanceof ArrayBuffer) || value.byteLength !== 32) {
    return { ok: false, message: 'Content-Digest sha-256 must be a byte sequence of 32 bytes' };
  }
  return { ok: true, sha256: Buffer.from(value) };
}

/** Whether `header`'s `sha-256` member equals `sha256Digest` (false also when the header is malformed or lacks sha-256). */
export function contentDigestMatches(header: string, sha256Digest: Buffer): boolean {
  const parsed = parseContentDigest(header);
  return parsed.ok && sha256Digest.length === 32 && timingSafeEqual(parsed.sha256, sha256Digest);
}
