import { createPublicKey, type KeyObject } from 'node:crypto';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw 32-byte key follows it. */
export const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const P = 2n ** 255n - 19n;

function power(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = base % P;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

const D = (((-121665n * power(121666n, P - 2n)) % P) + P) % P;

/**
 * Whether 32 bytes are the encoding of a point of edwards25519 (RFC 8032 §5.1.3): `y` below p and
 * `x² = (y² − 1) / (d·y² + 1)` has a root. OpenSSL imports any 32 bytes as a key and only fails later, at
 * verification; a typo'd key is better refused when the operator registers it.
 */
export function isEd25519Point(raw: Buffer): boolean {
  if (raw.length !== 32) return false;
  const bytes = Buffer.from(raw);
  const sign = bytes[31] >> 7;
  bytes[31] &= 0x7f;
  const y = BigInt('0x' + Buffer.from(bytes).reverse().toString('hex'));
  if (y >= P) return false;
  const y2 = (y * y) % P;
  const u = (y2 - 1n + P) % P;
  const v = (D * y2 + 1n) % P;
  const x2 = (u * power(v, P - 2n)) % P;
  if (x2 === 0n) return sign === 0;
  return power(x2, (P - 1n) / 2n) === 1n;
}

/** The KeyObject of a raw 32-byte Ed25519 public key (what the verifier passes to `crypto.verify`). */
export function ed25519PublicKey(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}
