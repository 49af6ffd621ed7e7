import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { TokenUsage } from '../jobs/entities/batch-job.entity.js';
import { JobStatus } from '../jobs/entities/job-status.js';
import type { ParsedResult } from '../openai/openai-gateway.types.js';
import { isRetryableFailure } from '../translation/retryable-failure.js';
import type { TranslationOutcome } from '../translation/translation.service.js';
import { visionError } from './lot-processor.service.js';
import type { BatchStageNames } from './pipeline-stage.js';
import { addUsage, addUsageSql } from './usage.js';
import { isUuid } from '../common/validation/uuid.js';

/** What one result means for one lot of a stage. */
export type LotOutcome =
  | { id: string; kind: 'vision'; text: string; usage: TokenUsage }
  | { id: string; kind: 'translation'; translations: Record<string, string>; usage: TokenUsage }
  /** The lot fails with this reason, stored as text. */
  | { id: string; kind: 'failed'; error: string; usage: TokenUsage }
  /** The request did not really run: the lot stays in its stage (retried by the next batch or a direct call). */
  | { id: string; kind: 'retry'; error: string; usage: TokenUsage };

export function visionOutcome(id: string, result: ParsedResult): LotOutcome {
  if (result.ok) return { id, kind: 'vision', text: result.text, usage: result.usage };
  return { id, kind: isRetryableFailure(result) ? 'retry' : 'failed', error: visionError(result), usage: result.usage };
}

export function translationOutcome(id: string, outcome: TranslationOutcome): LotOutcome {
  if (outcome.ok) return { id, kind: 'translation', translations: outcome.translations, usage: outcome.usage };
  return { id, kind: outcome.retryable ? 'retry' : 'failed', error: outcome.error, usage: outcome.usage };
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
    const groups = { vision: [] as LotOutcome[], translation: [] as LotOutcome[], failed: [] as LotOutcome[], retry: [] as LotOutcome[] };
    for (const outcome of valid) groups[outcome.kind].push(outcome);

    const afterVision = args.needsTranslation ? JobStatus.Translating : JobStatus.Completed;
    const common = [args.jobId, args.stage.lotStatus];
    const run = async (group: LotOutcome[], set: string, columns: string, extra: unknown[] = []): Promise<LotOutcome[]> => {
      if (group.length === 0) return [];
      const [rows]: [{ id: string }[], number] = await manager.query(
        `UPDATE batch_lots l
            SET ${set}, usage = ${addUsageSql('l.usage', 'v.usage')}, updated_at = now()
           FROM jsonb_to_recordset($3::jsonb) AS v(id uuid, usage jsonb, ${columns})
          WHERE l.id = v.id AND l.batch_job_id = $1 AND l.status = $2
        RETURNING l.id`,
        [...common, JSON.stringify(group), ...extra],
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
    const failures = await run(groups.failed, `status = 'failed', error_message = v.error, processed_at = now()`, 'error text');
    const retries = await run(groups.retry, `error_message = v.error`, 'error text');

    summary.succeeded = visions.length + translations.length;
    summary.failed = failures.length;
    summary.retried = retries.length;
    summary.updated = summary.succeeded + summary.failed + summary.retried;
    summary.usage = addUsage(...[...visions, ...translations, ...failures, ...retries].map((outcome) => outcome.usage));
    return summary;
  }
}
