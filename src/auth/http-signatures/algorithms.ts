/** The two signature algorithms of the profile (RFC 9421 §3.3.3 hmac-sha256, §3.3.6 ed25519), on node:crypto. */
import { createHmac, createPrivateKey, createPublicKey, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';

export type SignatureAlgorithm = 'hmac-sha256' | 'ed25519';

export const SIGNATURE_ALGORITHMS: readonly SignatureAlgorithm[] = ['hmac-sha256', 'ed25519'];

/** DER prefixes that turn a raw 32-byte Ed25519 key into SPKI (public) or PKCS#8 (private seed). */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * Raw public keys come from storage as fresh Buffers on every lookup; importing one costs more than the
 * verification itself, so imported keys are kept (bounded, oldest dropped first).
 */
const publicKeys = new Map<string, KeyObject>();
const MAX_CACHED_KEYS = 1024;

function ed25519PublicKey(key: Buffer | KeyObject): KeyObject {
  if (!Buffer.isBuffer(key)) return key;
  if (key.length !== 32) throw new TypeError('an Ed25519 public key is 32 raw bytes');
  const id = key.toString('base64');
  let imported = publicKeys.get(id);
  if (!imported) {
    imported = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, key]), format: 'der', type: 'spki' });
    if (publicKeys.size >= MAX_CACHED_KEYS) publicKeys.delete(publicKeys.keys().next().value!);
    publicKeys.set(id, imported);
  }
  return imported;
}

function ed25519PrivateKey(key: Buffer | KeyObject): KeyObject {
  if (!Buffer.isBuffer(key)) return key;
  if (key.length !== 32) throw new TypeError('an Ed25519 private key is a 32-byte seed');
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, key]), format: 'der', type: 'pkcs8' });
}

/** Signature length each algorithm produces: a shorter or longer value is refused before any key is looked up. */
export const SIGNATURE_LENGTH: Readonly<Record<SignatureAlgorithm, number>> = { 'hmac-sha256': 32, ed25519: 64 };

/** Signs the signature base. HMAC key: the raw secret bytes; Ed25519: a private KeyObject or the 32-byte seed. */
export function computeSignature(algorithm: SignatureAlgorithm, key: Buffer | KeyObject, base: string): Buffer {
  if (algorithm === 'hmac-sha256') return createHmac('sha256', key).update(base).digest();
  return sign(null, Buffer.from(base), ed25519PrivateKey(key));
}

/** Verifies `signature` over the base; HMAC compared in constant time. Ed25519 key: 32 raw public bytes or a KeyObject. */
export function verifySignatureBytes(algorithm: SignatureAlgorithm, key: Buffer | KeyObject, base: string, signature: Buffer): boolean {
  if (signature.length !== SIGNATURE_LENGTH[algorithm]) return false;
  if (algorithm === 'hmac-sha256') return timingSafeEqual(createHmac('sha256', key).update(base).digest(), signature);
  return verify(null, Buffer.from(base), ed25519PublicKey(key), signature);
}
