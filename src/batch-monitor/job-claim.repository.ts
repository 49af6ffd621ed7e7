import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { BatchJob } from '../jobs/entities/batch-job.entity.js';
import { ACTIVE_JOB_STATUSES } from '../jobs/entities/job-status.js';

/** A job this worker holds: its row as claimed plus the fencing token every write must present. */
export interface ClaimedJob {
  job: BatchJob;
  token: string;
  /** When the previous submission attempt of the current stage started (null: none in flight). */
  submitStartedAt: Date | null;
  errorCount: number;
}

/** Columns a stage may change on its job (the claim columns are the repository's own). */
export type JobPatch = Partial<
  Pick<
    BatchJob,
    | 'status' | 'currentStage' | 'stageStartedAt' | 'stageDeadlineAt' | 'stageAttempts' | 'processedLots' | 'failedLots'
    | 'estimatedCompletion' | 'startedAt' | 'completedAt' | 'errorMessage'
  >
> & { submitStartedAt?: Date | null };

const COLUMNS: Record<keyof JobPatch, string> = {
  status: 'status',
  currentStage: 'current_stage',
  stageStartedAt: 'stage_started_at',
  stageDeadlineAt: 'stage_deadline_at',
  stageAttempts: 'stage_attempts',
  processedLots: 'processed_lots',
  failedLots: 'failed_lots',
  estimatedCompletion: 'estimated_completion',
  startedAt: 'started_at',
  completedAt: 'completed_at',
  errorMessage: 'error_message',
  submitStartedAt: 'submit_started_at',
};

const ACTIVE = [...ACTIVE_JOB_STATUSES];

/**
 * Claims and fenced writes on `batch_jobs` (SPEC §5 "nothing twice"). A claim
 * is a short transaction: `FOR UPDATE SKIP LOCKED` picks due jobs no other
 * replica is claiming, and a lease (`next_check_at` pushed forward) plus a
 * fresh token keeps them ours while we work outside any transaction. Every
 * later write names the token and an active status, so a worker whose lease
 * ran out, or whose job was cancelled meanwhile, changes nothing.
 */
@Injectable()
export class JobClaimRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  async claimDue(limit: number): Promise<ClaimedJob[]> {
    const rows: { id: string; claim_token: string; submit_started_at: Date | null; error_count: number }[] =
      await this.dataSource.transaction(async (manager) => {
        const due: { id: string }[] = await manager.query(
          `SELECT id FROM batch_jobs
            WHERE status = ANY($1) AND processing_mode = 'batch' AND NOT paused AND next_check_at <= now()
            ORDER BY next_check_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED`,
          [ACTIVE, limit],
        );
        if (due.length === 0) return [];
        // TypeORM answers an UPDATE with [rows, rowCount].
        const [claimed] = await manager.query(
          `UPDATE batch_jobs
              SET claim_token = gen_random_uuid(), claimed_by = $2,
                  next_check_at = now() + make_interval(secs => $3)
            WHERE id = ANY($1::uuid[])
          RETURNING id, claim_token, submit_started_at, error_count`,
          [due.map((row) => row.id), this.config.instanceId, this.config.pipeline.claimLeaseMs / 1000],
        );
        return claimed;
      });
    if (rows.length === 0) return [];
    const jobs = await this.dataSource.getRepository(BatchJob).findBy(rows.map((row) => ({ id: row.id })));
    const byId = new Map(jobs.map((job) => [job.id, job]));
    return rows
      .filter((row) => byId.has(row.id))
      .map((row) => ({ job: byId.get(row.id)!, token: row.claim_token, submitStartedAt: row.submit_started_at, errorCount: row.error_count }));
  }

  /**
   * Writes `patch` if the claim still holds; `release` also ends the claim and
   * schedules the next check `delayMs` from now. Returns false when the claim
   * was lost (lease expired and taken over, or the job left the active statuses).
   */
  async update(
    claim: ClaimedJob,
    patch: JobPatch,
    options: { release?: { delayMs: number; resetErrors: boolean }; manager?: EntityManager } = {},
  ): Promise<boolean> {
    const sets: string[] = ['updated_at = now()'];
    const params: unknown[] = [claim.job.id, claim.token, ACTIVE];
    for (const [key, value] of Object.entries(patch) as [keyof JobPatch, unknown][]) {
      if (value === undefined) continue;
      params.push(value);
      sets.push(`${COLUMNS[key]} = $${params.length}`);
    }
    if (options.release) {
      params.push(Math.max(0, options.release.delayMs) / 1000);
      sets.push(`next_check_at = now() + make_interval(secs => $${params.length})`, 'claim_token = NULL', 'claimed_by = NULL');
      if (options.release.resetErrors) sets.push('error_count = 0');
    }
    const result: [unknown[], number] = await (options.manager ?? this.dataSource.manager).query(
      `UPDATE batch_jobs SET ${sets.join(', ')} WHERE id = $1 AND claim_token = $2 AND status = ANY($3)`,
      params,
    );
    const changed = result[1] > 0;
    if (changed) Object.assign(claim.job, patch);
    return changed;
  }

  /** Records a failed attempt on the row and backs off; returns the new error count (0 when the claim was lost). */
  async recordError(claim: ClaimedJob, message: string, delayMs: number): Promise<number> {
    const rows: [{ error_count: number }[], number] = await this.dataSource.query(
      `UPDATE batch_jobs
          SET last_error = $4, error_count = error_count + 1, updated_at = now(),
              next_check_at = now() + make_interval(secs => $5), claim_token = NULL, claimed_by = NULL
        WHERE id = $1 AND claim_token = $2 AND status = ANY($3)
      RETURNING error_count`,
      [claim.job.id, claim.token, ACTIVE, message.slice(0, 4000), delayMs / 1000],
    );
    return rows[0][0]?.error_count ?? 0;
  }
}
