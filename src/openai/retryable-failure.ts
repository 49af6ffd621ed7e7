import type { ParsedResult } from './openai-gateway.types.js';

/** Kinds where the request never produced a model answer (HTTP error, expired line, unreadable line). */
const TRANSPORT_KINDS: ReadonlySet<string> = new Set(['request_failed', 'batch_expired', 'malformed']);

/**
 * Retry what did not run; never re-ask a model that answered. A refusal, an
 * incomplete or reasoning-only answer or an empty message is the model's
 * answer to this lot and fails it with that reason (references 000/001);
 * a transient HTTP error or an expired batch line is retried.
 */
export function isRetryableFailure(result: ParsedResult): boolean {
  return !result.ok && result.retryable && TRANSPORT_KINDS.has(result.kind);
}
