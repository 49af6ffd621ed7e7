import type { BudgetRetryRecord, JobStatus, TokenUsage } from './job.types.js';
import { addUsage } from './token-usage.js';
import type { UsageLine, UsageMode } from './usage/usage.types.js';

/**
 * What one result means for one lot of a stage. `budgetRetry`: the answer of
 * a direct call was cut at max_output_tokens and retried with a larger budget
 * within the call; the record is appended to the lot's `budget_retries`.
 */
export type LotOutcome = (
  | { id: string; kind: 'vision'; text: string; usage: TokenUsage }
  | { id: string; kind: 'translation'; translations: Record<string, string>; usage: TokenUsage }
  /** The lot fails with this reason, stored as text. */
  | { id: string; kind: 'failed'; error: string; usage: TokenUsage }
  /** The request did not really run: the lot stays in its stage (retried by the next batch or a direct call). */
  | { id: string; kind: 'retry'; error: string; usage: TokenUsage }
  /**
   * A batch answer cut at max_output_tokens: the lot stays in its stage for one
   * direct call with `retry.retry_max_output_tokens` — unless it already had
   * its retry in this stage, then it fails with `error`.
   */
  | { id: string; kind: 'budget'; error: string; retry: BudgetRetryRecord; usage: TokenUsage }
) & { budgetRetry?: BudgetRetryRecord };

/** Where a stage's results go: the lots still in `lotStatus` of the job, and the status a lot takes after its vision answer. */
export interface LotResultTarget {
  jobId: string;
  /** The stage's name, as `budget_retries` records it. */
  stage: 'vision' | 'translation';
  /** Status of the lots the stage still has to process. */
  lotStatus: JobStatus;
  needsTranslation: boolean;
  /** Where the results were billed: their usage is recorded once per lot, stage and call (absent: not recorded). */
  billing?: { mode: UsageMode; batchId?: string };
}

/** The lot's `error_message` while its budget retry is pending. */
export function budgetRetryNote(error: string, retry: BudgetRetryRecord): string {
  return `${error} Retrying once with max_output_tokens=${retry.retry_max_output_tokens}.`;
}

export interface WriteSummary {
  /** Lots changed (each lot at most once per stage: the status guard makes writes idempotent). */
  updated: number;
  succeeded: number;
  failed: number;
  retried: number;
  /** Results whose lot is not waiting for this stage (unknown id, other job, already done). */
  ignored: number;
  /** Usage of the results that were applied. */
  usage: Required<TokenUsage>;
  /** Usage newly recorded in `openai_usage` (for the Prometheus counters, once the transaction committed). */
  billed: UsageLine[];
}

export function emptySummary(): WriteSummary {
  return { updated: 0, succeeded: 0, failed: 0, retried: 0, ignored: 0, usage: addUsage(), billed: [] };
}

export function mergeSummaries(into: WriteSummary, add: WriteSummary): WriteSummary {
  into.updated += add.updated;
  into.succeeded += add.succeeded;
  into.failed += add.failed;
  into.retried += add.retried;
  into.ignored += add.ignored;
  into.usage = addUsage(into.usage, add.usage);
  into.billed.push(...add.billed);
  return into;
}
