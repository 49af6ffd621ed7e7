import type { RateDecision } from './shared-rate-limiter.js';
import type { RateScope } from './rate-limit-policy.js';

/**
 * The RateLimit-Policy and RateLimit fields of draft-ietf-httpapi-ratelimit-headers
 * (structured-field lists whose members are a policy name, an sf-string, with
 * parameters): `RateLimit-Policy: "polling";q=1000;w=60` (quota q per window
 * of w seconds) and `RateLimit: "polling";r=998;t=42` (r requests left, t
 * seconds until the quota is whole again). Written by hand: the scope names
 * are fixed identifiers that need no escaping, and this runs on every
 * polling request.
 */
export function rateLimitHeaders(scope: RateScope, decision: RateDecision, windowMs: number): Record<string, string> {
  const windowSeconds = Math.max(1, Math.ceil(windowMs / 1000));
  return {
    'RateLimit-Policy': `"${scope}";q=${decision.limit};w=${windowSeconds}`,
    RateLimit: `"${scope}";r=${decision.remaining};t=${resetSeconds(decision)}`,
  };
}

/** Whole seconds until the window ends, at least 1: also the 429's Retry-After. */
export function resetSeconds(decision: RateDecision): number {
  return Math.max(1, Math.ceil(decision.resetMs / 1000));
}
