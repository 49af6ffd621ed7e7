import type { JobPatch } from './job-claim.repository.js';

/**
 * What a stage handler decided. The runner writes it on the job row in one
 * fenced update that also ends the claim: the patch (often the next stage)
 * and when to look at the job again.
 */
export type StageOutcome =
  | { kind: 'continue'; patch: JobPatch; delayMs: number }
  /** The handler already ended the job (terminal status written), or lost its claim. */
  | { kind: 'finished' };

export const FINISHED: StageOutcome = { kind: 'finished' };

export function continueAfter(delayMs: number, patch: JobPatch = {}): StageOutcome {
  return { kind: 'continue', patch, delayMs };
}
