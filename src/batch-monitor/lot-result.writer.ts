import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { TokenUsage } from '../jobs/entities/batch-job.entity.js';
import { JobStatus } from '../jobs/entities/job-status.js';
import type { BudgetRetry, ParsedResult } from '../openai/openai-gateway.types.js';
import { isRetryableFailure } from '../openai/retryable-failure.js';
import type { TranslationOutcome } from '../translation/translation.service.js';
import { visionError } from '../vision/vision-answer.parser.js';
import type { BatchStageNames } from './pipeline-stage.js';
import { addUsage, addUsageSql } from './usage.js';
import { isUuid } from '../common/validation/uuid.js';

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
  | { id: string; kind: 'budget'; error: string; retry: BudgetRetry; usage: TokenUsage }
) & { budgetRetry?: BudgetRetry };

export function visionOutcome(id: string, result: ParsedResult): LotOutcome {
  const extra = result.budgetRetry ? { budgetRetry: result.budgetRetry } : {};
  if (result.ok) return { id, kind: 'vision', text: result.text, usage: result.usage, ...extra };
  return { id, kind: isRetryableFailure(result) ? 'retry' : 'failed', error: visionError(result), usage: result.usage, ...extra };
}

export function translationOutcome(id: string, outcome: TranslationOutcome): LotOutcome {
  const extra = outcome.budgetRetry ? { budgetRetry: outcome.budgetRetry } : {};
  if (outcome.ok) return { id, kind: 'translation', translations: outcome.translations, usage: outcome.usage, ...extra };
  return { id, kind: outcome.retryable ? 'retry' : 'failed', error: outcome.error, usage: outcome.usage, ...extra };
}

/** A failed batch outcome whose answer was cut at max_output_tokens becomes a `budget` outcome (one retry). */
export function withBudgetRetry(outcome: LotOutcome, retry: BudgetRetry | null): LotOutcome {
  if (!retry || outcome.kind !== 'failed') return outcome;
  return { id: outcome.id, kind: 'budget', error: outcome.error, retry, usage: outcome.usage };
}

/** The lot's `error_message` while its budget retry is pending. */
export function budgetRetryNote(error: string, retry: BudgetRetry): string {
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
}

export function emptySummary(): WriteSummary {
  return { updated: 0, succeeded: 0, failed: 0, retried: 0, ignored: 0, usage: addUsage() };
}

export function mergeSummaries(into: WriteSummary, add: WriteSummary): WriteSummary {
  into.updated += add.updated;
  into.succeeded += add.succeeded;
  into.failed += add.failed;
  into.retried += add.retried;
  into.ignored += add.ignored;
  into.usage = addUsage(into.usage, add.usage);
  return into;
}

/**
 * Applies results to lots in bulk: one UPDATE … FROM jsonb_to_recordset per
 * kind, matched by the lot's row id (the batch line's custom_id, never the
 * line order), restricted to the job and to lots still waiting for the stage.
 * That guard makes a second application of the same results a no-op.
 */
@Injectable()
export class LotResultWriter {
  async write(
    manager: EntityManager,
    args: { jobId: string; stage: BatchStageNames; needsTranslation: boolean; outcomes: LotOutcome[] },
  ): Promise<WriteSummary> {
    const summary = emptySummary();
    const valid = args.outcomes.filter((outcome) => isUuid(outcome.id));
    summary.ignored += args.outcomes.length - valid.length;
    const groups = {
      vision: [] as LotOutcome[],
      translation: [] as LotOutcome[],
      failed: [] as LotOutcome[],
      retry: [] as LotOutcome[],
      budget: [] as LotOutcome[],
    };
    for (const outcome of valid) groups[outcome.kind].push(outcome);

    const afterVision = args.needsTranslation ? JobStatus.Translating : JobStatus.Completed;
    const common = [args.jobId, args.stage.lotStatus];
    const run = async (group: LotOutcome[], set: string, columns: string, extra: unknown[] = [], guard = ''): Promise<LotOutcome[]> => {
      if (group.length === 0) return [];
      const records = group.map((outcome) => ({ ...outcome, budget_retries: outcome.budgetRetry ? [outcome.budgetRetry] : [] }));
      const [rows]: [{ id: string }[], number] = await manager.query(
        `UPDATE batch_lots l
            SET ${set}, usage = ${addUsageSql('l.usage', 'v.usage')}, budget_retries = l.budget_retries || v.budget_retries, updated_at = now()
           FROM jsonb_to_recordset($3::jsonb) AS v(id uuid, usage jsonb, budget_retries jsonb, ${columns})
          WHERE l.id = v.id AND l.batch_job_id = $1 AND l.status = $2${guard}
        RETURNING l.id`,
        [...common, JSON.stringify(records), ...extra],
      );
      const done = new Set(rows.map((row) => row.id));
      summary.ignored += group.length - done.size;
      return group.filter((outcome) => done.has(outcome.id));
    };

    const visions = await run(
      groups.vision,
      `vision_result = v.text, status = $4, error_message = NULL,
       processed_at = CASE WHEN $4 = 'completed' THEN now() ELSE l.processed_at END`,
      'text text',
      [afterVision],
    );
    const translations = await run(
      groups.translation,
      `translations = v.translations, status = 'completed', error_message = NULL, processed_at = now()`,
      'translations jsonb',
    );
    // One budget retry per lot and stage: a lot that already had its retry fails with the reason instead.
    const budgets = groups.budget.map((outcome) =>
      outcome.kind === 'budget' ? { ...outcome, note: budgetRetryNote(outcome.error, outcome.retry), budgetRetry: outcome.retry } : outcome,
    );
    const budgeted = await run(
      budgets,
      `error_message = v.note`,
      'note text',
      [JSON.stringify([{ stage: args.stage.stage }])],
      ` AND NOT l.budget_retries @> $4::jsonb`,
    );
    const budgetedIds = new Set(budgeted.map((outcome) => outcome.id));
    const exhausted = groups.budget.filter((outcome) => !budgetedIds.has(outcome.id));
    summary.ignored -= exhausted.length; // counted again (or applied) as failures below
    const failures = await run(
      [
        ...groups.failed,
        ...exhausted.flatMap((outcome): LotOutcome[] =>
          outcome.kind === 'budget'
            ? [
                {
                  id: outcome.id,
                  kind: 'failed',
                  error: `${outcome.error.replace(/\.$/, '')} (with max_output_tokens=${outcome.retry.max_output_tokens}, after its one retry with a larger budget).`,
                  usage: outcome.usage,
                },
              ]
            : [],
        ),
      ],
      `status = 'failed', error_message = v.error, processed_at = now()`,
      'error text',
    );
    const retries = await run(groups.retry, `error_message = v.error`, 'error text');

    summary.succeeded = visions.length + translations.length;
    summary.failed = failures.length;
    summary.retried = retries.length + budgeted.length;
    summary.updated = summary.succeeded + summary.failed + summary.retried;
    summary.usage = addUsage(...[...visions, ...translations, ...failures, ...retries, ...budgeted].map((outcome) => outcome.usage));
    return summary;
  }
}
