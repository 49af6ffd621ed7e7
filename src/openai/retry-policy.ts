import { setTimeout as sleep } from 'node:timers/promises';

export interface RetryPolicy {
  /** Attempts in all (first call included). */
  maxAttempts: number;
  /** First backoff; doubles per retry up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After above this is not believed (a misconfigured proxy must not park a lot for an hour). */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: Omit<RetryPolicy, 'maxAttempts'> = {
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 60_000,
};

/**
 * Exponential backoff with "equal jitter": half fixed, half random, so
 * replicas that failed together do not retry together, yet the wait never
 * collapses to zero. `retry` counts from 1.
 */
export function backoffDelayMs(retry: number, policy: Omit<RetryPolicy, 'maxAttempts'>, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * The wait OpenAI asked for: `retry-after-ms` (milliseconds, OpenAI's own
 * header) or `retry-after` (seconds or an HTTP date). Undefined when absent,
 * unparsable, negative or beyond `maxMs`.
 */
export function retryAfterMs(headers: Headers | undefined, maxMs: number, now: number = Date.now()): number | undefined {
  if (!headers) return undefined;
  let ms: number | undefined;
  const millis = headers.get('retry-after-ms');
  if (millis !== null && millis.trim() !== '' && Number.isFinite(Number(millis))) ms = Number(millis);
  const after = headers.get('retry-after');
  if (ms === undefined && after !== null && after.trim() !== '') {
    const seconds = Number(after);
    ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(after) - now;
  }
  if (ms === undefined || !Number.isFinite(ms) || ms < 0 || ms > maxMs) return undefined;
  return Math.ceil(ms);
}

/** An abortable wait: rejects with `signal.reason` as soon as the signal fires. */
export async function waitMs(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw signal.reason;
  try {
    await sleep(ms, undefined, { signal });
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err;
  }
}
