import { waitMs } from './abortable-wait.js';
import { backoffDelay, type Backoff } from './backoff.js';

/** What one failed attempt means: try again (after `delayMs` if the other side said how long) or give up now. */
export type RetryDecision = { retry: false } | { retry: true; delayMs?: number };

export interface RetryOptions {
  /** Attempts in all, the first included. */
  attempts: number;
  backoff: Backoff;
  /** Classifies each error: retry by decision, not by reflex. */
  decide: (error: unknown) => RetryDecision;
  /** Aborts the wait between attempts; the loop then rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Called before each retry's wait (logging, counters, pausing other callers). */
  onRetry?: (retry: { error: unknown; attempt: number; delayMs: number }) => void;
  random?: () => number;
}

/**
 * Runs `fn` until it succeeds, an error is not worth retrying, or the
 * attempts are used up; rethrows the last error. An error after `signal`
 * aborted is the abort, whatever `fn` threw.
 */
export async function withRetries<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = Math.max(1, options.attempts);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      const decision = options.decide(error);
      if (!decision.retry || attempt >= attempts) throw error;
      const delayMs = decision.delayMs ?? backoffDelay(attempt, options.backoff, options.random);
      options.onRetry?.({ error, attempt, delayMs });
      await waitMs(delayMs, options.signal);
    }
  }
}
