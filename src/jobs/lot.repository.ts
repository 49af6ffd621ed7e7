import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { Between, DataSource, type FindOptionsWhere, Repository } from 'typeorm';
import { isUuid } from '../common/validation/uuid.js';
import { query, queryOne, execute, type SqlRunner, type Transaction } from '../database/sql.js';
import { BatchLot } from './entities/batch-lot.entity.js';
import { ACTIVE_JOB_STATUSES, JobStatus, type BudgetRetryRecord, type LotCounts, type LotResult } from './job.types.js';
import { budgetRetryNote, emptySummary, type LotOutcome, type LotResultTarget, type WriteSummary } from './lot-outcome.types.js';
import { addUsage, addUsageSql } from './token-usage.js';

/** A lot waiting for a stage, with what its requests are built from. */
export interface WaitingLot {
  id: string;
  lot_id: string;
  additional_info: string | null;
  images: { url: string }[];
  missing_images: string[];
  vision_result: string | null;
  budget_retries: BudgetRetryRecord[];
  position: number;
}

/** A lot whose image URLs are not checked yet. */
export interface UncheckedLot {
  id: string;
  images: { url: string }[];
  additional_info: string | null;
}

/** The outcome of a lot's image check. */
export interface ImageCheckResult {
  id: string;
  status: JobStatus;
  missing: string[];
  processed: number;
  error: string | null;
  /** What the lot's result depends on, hashed (null: no usable image). */
  contentKey?: string | null;
}

/** A lot that named a webhook, with the JSON-escaped sizes of its texts (the webhook planner measures payloads from it). */
export interface WebhookLotSize {
  position: number;
  webhook_url: string;
  lot_id: string;
  status: JobStatus;
  processed_at: Date | null;
  processed_images: number;
  missing_images: string[] | null;
  error_message: string | null;
  en_bytes: number | null;
  translation_bytes: Record<string, number> | null;
}

/**
 * The pipeline's reads and writes on `batch_lots` (the API's own are in
 * JobRepository, which inserts lots with their job). Every write on a stage's
 * lots is guarded by the status the stage expects, so a second application of
 * the same results, or a write after the job ended, changes nothing.
 */
@Injectable()
export class LotRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(BatchLot) private readonly lots: Repository<BatchLot>,
  ) {}

  async counts(jobId: string, tx: SqlRunner = this.dataSource): Promise<LotCounts> {
    const rows = await query<{ status: JobStatus; n: number }>(
      tx,
      `SELECT status, count(*)::int AS n FROM batch_lots WHERE batch_job_id = $1 GROUP BY status`,
      [jobId],
    );
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  }

  async countWaiting(jobId: string, status: JobStatus): Promise<number> {
    const row = await queryOne<{ n: number }>(
      this.dataSource,
      `SELECT count(*)::int AS n FROM batch_lots WHERE batch_job_id = $1 AND status = $2`,
      [jobId, status],
    );
    return row?.n ?? 0;
  }

  /** Keyset page of the lots in `status`, in request order, after `afterPosition`. */
  waitingPage(jobId: string, status: JobStatus, afterPosition: number, limit: number): Promise<WaitingLot[]> {
    return query<WaitingLot>(
      this.dataSource,
      `SELECT id, lot_id, additional_info, images, missing_images, vision_result, position, budget_retries
         FROM batch_lots WHERE batch_job_id = $1 AND status = $2 AND position > $3
        ORDER BY position LIMIT $4`,
      [jobId, status, afterPosition, limit],
    );
  }

  /** The next lots whose images are unchecked (still `pending`). */
  unchecked(jobId: string, limit: number): Promise<UncheckedLot[]> {
    return query<UncheckedLot>(
      this.dataSource,
      `SELECT id, images, additional_info FROM batch_lots WHERE batch_job_id = $1 AND status = 'pending' ORDER BY position LIMIT $2`,
      [jobId, limit],
    );
  }

  /** Writes image-check results in one statement; lots no longer `pending` are left alone. */
  async recordImageChecks(jobId: string, results: ImageCheckResult[]): Promise<void> {
    await execute(
      this.dataSource,
      `UPDATE batch_lots l
          SET status = v.status, missing_images = v.missing, processed_images = v.processed, error_message = v.error,
              processed_at = CASE WHEN v.status = 'failed' THEN now() ELSE NULL END, content_key = v."contentKey", updated_at = now()
         FROM jsonb_to_recordset($2::jsonb) AS v(id uuid, status text, missing jsonb, processed int, error text, "contentKey" text)
        WHERE l.id = v.id AND l.batch_job_id = $1 AND l.status = 'pending'`,
      [jobId, JSON.stringify(results)],
    );
  }

  /**
   * `reuse_results`: the job's lots waiting in `status` whose content key
   * matches a lot of the same client completed within `withinMs` take that
   * lot's result (chains point to the original). Returns the reused lots with
   * their source row, so the caller can price the saving.
   */
  async reuseCompleted(
    jobId: string,
    clientId: string,
    status: JobStatus,
    withinMs: number,
  ): Promise<{ id: string; source_row_id: string }[]> {
    return query(
      this.dataSource,
      `WITH src AS (
         SELECT DISTINCT ON (s.content_key) s.content_key, s.vision_result, s.translations,
                COALESCE(s.reused_from, jsonb_build_object('job_id', s.batch_job_id, 'lot_id', s.lot_id, 'lot_row_id', s.id)) AS origin
           FROM batch_lots s JOIN batch_jobs sj ON sj.id = s.batch_job_id
          WHERE sj.client_id = $2 AND s.batch_job_id <> $1 AND s.status = 'completed'
            AND s.processed_at > now() - make_interval(secs => $4::double precision / 1000)
            AND s.content_key IN (SELECT content_key FROM batch_lots WHERE batch_job_id = $1 AND status = $3 AND content_key IS NOT NULL)
          ORDER BY s.content_key, s.processed_at DESC
       )
       UPDATE batch_lots l
          SET status = 'completed', vision_result = src.vision_result, translations = src.translations, error_message = NULL,
              processed_at = now(), reused_from = src.origin, updated_at = now()
         FROM src
        WHERE l.batch_job_id = $1 AND l.status = $3 AND l.content_key = src.content_key
      RETURNING l.id, src.origin->>'lot_row_id' AS source_row_id`,
      [jobId, clientId, status, withinMs],
    );
  }

  /** Records what each reused lot saved (USD), by lot row id. */
  async recordSavings(jobId: string, savings: { id: string; saved_usd: number }[]): Promise<void> {
    if (savings.length === 0) return;
    await execute(
      this.dataSource,
      `UPDATE batch_lots l SET reused_from = l.reused_from || jsonb_build_object('saved_usd', v.saved_usd)
         FROM jsonb_to_recordset($2::jsonb) AS v(id uuid, saved_usd double precision)
        WHERE l.id = v.id AND l.batch_job_id = $1`,
      [jobId, JSON.stringify(savings)],
    );
  }

  /** OpenAI kept failing: the lots still in `status` fail, each with the last error it got. */
  async failWaiting(jobId: string, status: JobStatus): Promise<void> {
    await execute(
      this.dataSource,
      `UPDATE batch_lots SET status = 'failed', processed_at = now(), updated_at = now(),
              error_message = COALESCE(error_message, 'OpenAI kept failing for this lot.')
        WHERE batch_job_id = $1 AND status = $2`,
      [jobId, status],
    );
  }

  /** The job ends: its unfinished lots fail with `reason` (unless they carry their own error). */
  async failUnfinished(tx: Transaction, jobId: string, reason: string): Promise<void> {
    await execute(
      tx,
      `UPDATE batch_lots SET status = 'failed', error_message = COALESCE(error_message, $3), processed_at = now(), updated_at = now()
        WHERE batch_job_id = $1 AND status = ANY($2)`,
      [jobId, [...ACTIVE_JOB_STATUSES], reason],
    );
  }

  /** The error of the job's first failed lot, in request order. */
  async firstFailure(tx: Transaction, jobId: string): Promise<string | null> {
    const row = await queryOne<{ error_message: string | null }>(
      tx,
      `SELECT error_message FROM batch_lots WHERE batch_job_id = $1 AND status = 'failed' ORDER BY position LIMIT 1`,
      [jobId],
    );
    return row?.error_message ?? null;
  }

  /**
   * Applies results to lots in bulk: one UPDATE … FROM jsonb_to_recordset per
   * kind, matched by the lot's row id (the batch line's custom_id, never the
   * line order), restricted to the job and to lots still waiting for the stage.
   * That guard makes a second application of the same results a no-op.
   */
  async recordResults(tx: SqlRunner, target: LotResultTarget, outcomes: LotOutcome[]): Promise<WriteSummary> {
    const summary = emptySummary();
    const valid = outcomes.filter((outcome) => isUuid(outcome.id));
    summary.ignored += outcomes.length - valid.length;
    const groups = {
      vision: [] as LotOutcome[],
      translation: [] as LotOutcome[],
      failed: [] as LotOutcome[],
      retry: [] as LotOutcome[],
      budget: [] as LotOutcome[],
    };
    for (const outcome of valid) groups[outcome.kind].push(outcome);

    const afterVision = target.needsTranslation ? JobStatus.Translating : JobStatus.Completed;
    const common = [target.jobId, target.lotStatus];
    const run = async (group: LotOutcome[], set: string, columns: string, extra: unknown[] = [], guard = ''): Promise<LotOutcome[]> => {
      if (group.length === 0) return [];
      const records = group.map((outcome) => ({ ...outcome, budget_retries: outcome.budgetRetry ? [outcome.budgetRetry] : [] }));
      const rows = await query<{ id: string }>(
        tx,
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
      [JSON.stringify([{ stage: target.stage }])],
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

  /**
   * Every lot that named a webhook, measured without loading the descriptions:
   * PostgreSQL reports the JSON-escaped length of each text (its escaping of
   * `"`, `\` and control characters matches JSON.stringify). 50,000 lots × 10
   * languages stay in the database instead of crossing the wire at enqueue time.
   */
  webhookLotSizes(jobId: string, tx?: Transaction): Promise<WebhookLotSize[]> {
    return query<WebhookLotSize>(
      tx ?? this.dataSource,
      `SELECT l.position, l.webhook_url, l.lot_id, l.status, l.processed_at, l.processed_images, l.missing_images, l.error_message,
              octet_length(to_json(l.vision_result)::text) AS en_bytes,
              (SELECT jsonb_object_agg(t.key, octet_length(t.value::text))
                 FROM jsonb_each(CASE WHEN jsonb_typeof(l.translations) = 'object' THEN l.translations ELSE '{}'::jsonb END) t
                WHERE jsonb_typeof(t.value) = 'string') AS translation_bytes
         FROM batch_lots l
        WHERE l.batch_job_id = $1 AND l.webhook_url IS NOT NULL AND l.webhook_url <> ''
        ORDER BY l.position`,
      [jobId],
    );
  }

  /** The lots of one webhook part: the URL's lots, within the part's positions when it has them. */
  forWebhook(jobId: string, webhookUrl: string, positions: { from: number; to: number } | null): Promise<LotResult[]> {
    const where: FindOptionsWhere<BatchLot> = { batchJobId: jobId, webhookUrl };
    if (positions) where.position = Between(positions.from, positions.to);
    return this.lots.find({ where, order: { position: 'ASC' } });
  }

  /** Lots not yet completed, failed or cancelled, by status (metrics). */
  countUnfinishedByStatus(): Promise<{ status: string; value: number }[]> {
    return query(
      this.dataSource,
      `SELECT status, count(*)::int AS value FROM batch_lots WHERE status NOT IN ('completed','failed','cancelled') GROUP BY status`,
    );
  }
}
