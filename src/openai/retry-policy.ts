import type { Backoff } from '../common/retry/index.js';

/** How the gateway retries OpenAI calls (the loop and the Retry-After parser are src/common/retry). */
export interface RetryPolicy {
  /** First backoff; doubles per retry up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After above this is not believed (a misconfigured proxy must not park a lot for an hour). */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 60_000,
};

/** Equal jitter: replicas that failed together do not retry together, yet the wait never collapses to zero. */
export function gatewayBackoff(policy: RetryPolicy): Backoff {
  return { baseMs: policy.baseDelayMs, maxMs: policy.maxDelayMs, jitter: 'equal' };
}
