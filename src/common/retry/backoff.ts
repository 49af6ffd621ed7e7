/**
 * How long to wait before retry number `n` (counting from 1): `baseMs × 2^(n−1)`,
 * capped at `maxMs`, with jitter so that replicas (or deliveries) that failed
 * together do not retry together:
 * - `none`: the plain doubling (the pipeline's job-level backoffs, already spread by the tick);
 * - `equal`: half fixed, half random — never collapses to zero (OpenAI calls);
 * - a fraction `f`: up to `f` of the delay added on top (webhook schedules, whose base must hold).
 */
export interface Backoff {
  baseMs: number;
  maxMs?: number;
  jitter?: 'none' | 'equal' | number;
}

/** 2^20 × base is already years: beyond it only the float would grow. */
const MAX_EXPONENT = 20;

export function backoffDelay(retry: number, backoff: Backoff, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(retry, 1) - 1, MAX_EXPONENT);
  const ceiling = Math.min(backoff.maxMs ?? Infinity, backoff.baseMs * 2 ** exponent);
  const jitter = backoff.jitter ?? 'none';
  if (jitter === 'none') return ceiling;
  if (jitter === 'equal') return Math.round(ceiling / 2 + random() * (ceiling / 2));
  return Math.round(ceiling * (1 + jitter * random()));
}
