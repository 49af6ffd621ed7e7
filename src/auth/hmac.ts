import { createHmac, timingSafeEqual } from 'node:crypto';

const SIGNATURE_FORMAT = /^sha256=([0-9a-fA-F]{64})$/;

/** `sha256=<hex HMAC-SHA256(key, message)>`, the seed's signature format (reference 002). */
export function sign(key: string | Buffer, message: string | Buffer): string {
  return 'sha256=' + createHmac('sha256', key).update(message).digest('hex');
}

/** Whether `provided` is a well-formed signature of `message`; compares in constant time. */
export function verifySignature(key: string | Buffer, message: string | Buffer, provided: string): boolean {
  const match = SIGNATURE_FORMAT.exec(provided.trim());
  if (!match) return false;
  const expected = createHmac('sha256', key).update(message).digest();
  return timingSafeEqual(expected, Buffer.from(match[1], 'hex'));
}
