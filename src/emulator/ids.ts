import { createHash, randomBytes } from 'node:crypto';

/** OpenAI-looking ids: a prefix and 24 url-safe random characters. */
export function newId(prefix: 'file-' | 'batch_' | 'batch_req_' | 'resp_' | 'msg_' | 'rs_' | 'req_'): string {
  return prefix + randomBytes(18).toString('base64url').replace(/[-_]/g, 'x').slice(0, 24);
}

/** Bare hex request id, as OpenAI writes it into batch output lines. */
export function newRequestId(): string {
  return randomBytes(16).toString('hex');
}

/** Unix seconds, the unit of every OpenAI timestamp. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Stable 32-bit hash: every "random" choice the emulator makes about content derives from it. */
export function stableHash(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}
