import type { JobPatch } from '../jobs/job.types.js';

/**
 * What a stage handler decided; only the runner writes it (through the jobs
 * module), so one place advances a job's stage:
 * - `continue`: one fenced update that also ends the claim — the patch (often
 *   the next stage) and when to look at the job again;
 * - `finish`: the job ends (completed or failed by its lots, or failed with
 *   `failure`), its webhook deliveries in the same transaction;
 * - `abandoned`: the claim was lost mid-step; the new holder carries on.
 */
export type StageOutcome =
  { kind: 'continue'; patch: JobPatch; delayMs: number } | { kind: 'finish'; failure?: string } | { kind: 'abandoned' };

export const ABANDONED: StageOutcome = { kind: 'abandoned' };

export function continueAfter(delayMs: number, patch: JobPatch = {}): StageOutcome {
  return { kind: 'continue', patch, delayMs };
}

/** The job ends; with `failure` it fails with that reason, otherwise its lots decide. */
export function finishJob(failure?: string): StageOutcome {
  return failure === undefined ? { kind: 'finish' } : { kind: 'finish', failure };
}
