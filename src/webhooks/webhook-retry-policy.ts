import { OutboundHttpError } from '../common/http/outbound-errors.js';
import type { SafeResponse } from '../common/http/safe-request.js';
import { errorText } from '../common/errors/error-text.js';
import { backoffDelay as commonBackoff, parseRetryAfter } from '../common/retry/index.js';

/** Longest wait a receiver's Retry-After can impose on one attempt. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;
/** Random extra delay, as a fraction of the scheduled one, so retries of many deliveries do not stampede. */
export const JITTER_FRACTION = 0.1;

export type AttemptResult = { response: SafeResponse } | { error: unknown };

export interface AttemptState {
  /** The attempt just made (1-based, counting every attempt ever made). */
  attempt: number;
  maxAttempts: number;
  /** `attempt_count` when the current schedule began (0, or when an operator redelivered). */
  roundStartAttempt: number;
}

export interface RetrySchedule {
  retryBaseMs: number;
}

export type Decision =
  { outcome: 'delivered' } | { outcome: 'retry'; delayMs: number; reason: string } | { outcome: 'failed'; reason: string };

/**
 * Delay before the next attempt (reference 002): base × 2^(n−1) after the
 * n-th attempt of the schedule — 30 s, 60 s, 120 s, 240 s with the default
 * base — plus up to 10 % jitter.
 */
export function backoffDelay(attemptInRound: number, schedule: RetrySchedule, random: () => number = Math.random): number {
  return commonBackoff(attemptInRound, { baseMs: schedule.retryBaseMs, jitter: JITTER_FRACTION }, random);
}

function describeResponse(response: SafeResponse): string {
  if (response.status >= 300 && response.status < 400) {
    return `HTTP ${response.status}: redirect${response.headers.location ? ` to ${response.headers.location}` : ''} not followed (webhook URLs must answer directly)`;
  }
  return `HTTP ${response.status} from receiver`;
}

/**
 * Classifies one attempt: 2xx is delivered; 410 Gone and refused targets
 * (SSRF, bad URL) fail at once because retrying cannot help; everything else
 * — 3xx, 4xx, 5xx, timeouts, network errors — retries on the schedule until
 * the attempts are used up. 429/503 wait at least their Retry-After (bounded).
 */
export function decideAttempt(
  result: AttemptResult,
  state: AttemptState,
  schedule: RetrySchedule,
  random: () => number = Math.random,
): Decision {
  let reason: string;
  let retryAfterMs: number | undefined;
  if ('response' in result) {
    const { response } = result;
    if (response.status >= 200 && response.status < 300) return { outcome: 'delivered' };
    if (response.status === 410) {
      return { outcome: 'failed', reason: 'HTTP 410 Gone: the receiver says this endpoint no longer exists; not retried' };
    }
    reason = describeResponse(response);
    if (response.status === 429 || response.status === 503) retryAfterMs = parseRetryAfter(response.headers['retry-after']);
  } else {
    const { error } = result;
    if (error instanceof OutboundHttpError && error.permanent) return { outcome: 'failed', reason: `${error.message} Not retried.` };
    reason = errorText(error);
  }
  if (state.attempt >= state.maxAttempts) {
    return { outcome: 'failed', reason: `${reason}; gave up after attempt ${state.attempt} of ${state.maxAttempts}` };
  }
  let delayMs = backoffDelay(state.attempt - state.roundStartAttempt, schedule, random);
  if (retryAfterMs !== undefined) delayMs = Math.max(delayMs, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
  return { outcome: 'retry', delayMs, reason };
}
