import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { execute, query, queryOne, type SqlRunner, type Transaction } from '../database/sql.js';
import { BatchJob } from './entities/batch-job.entity.js';
import {
  ACTIVE_JOB_STATUSES,
  JobStatus,
  TERMINAL_JOB_STATUSES,
  type Job,
  type JobClaim,
  type JobPatch,
  type TokenUsage,
} from './job.types.js';
import { addUsageSql } from './token-usage.js';

/**
 * The pipeline's side of `batch_jobs` (SPEC §5 "nothing twice"): claims and
 * fenced writes. A claim is a short transaction: `FOR UPDATE SKIP LOCKED`
 * picks due jobs no other replica is claiming, and a lease (`next_check_at`
 * pushed forward) plus a fresh token keeps them ours while the worker works
 * outside any transaction. Every later write names the token and an active
 * status, so a worker whose lease ran out, or whose job was cancelled
 * meanwhile, changes nothing. (The API's side is JobRepository.)
 */
@Injectable()
export class JobClaimRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(BatchJob) private readonly jobs: Repository<BatchJob>,
  ) {}

  /**
   * Claims due jobs, and jobs whose holder's heartbeat is stale or gone (a
   * crashed or killed worker: its lease is renewed by nobody, but waiting for
   * the whole lease would stall the job for WORKER_CLAIM_LEASE): a claim
   * held by an instance not in `liveInstanceIds` (the worker module's answer)
   * is taken over.
   */
  async claimDue(args: { limit: number; instanceId: string; liveInstanceIds: string[]; leaseSeconds: number }): Promise<ClaimedRow[]> {
    const rows = await this.dataSource.transaction(async (manager) => {
      const due = await query<{ id: string }>(
        manager,
        `SELECT id FROM batch_jobs
          WHERE status = ANY($1) AND processing_mode = 'batch' AND NOT paused
            AND (next_check_at <= now()
                 OR (claim_token IS NOT NULL AND (claimed_by IS NULL OR claimed_by <> ALL($3::text[]))))
          ORDER BY next_check_at
          LIMIT $2
          FOR UPDATE OF batch_jobs SKIP LOCKED`,
        [ACTIVE, args.limit, args.liveInstanceIds],
      );
      if (due.length === 0) return [];
      return query<{ id: string; claim_token: string; submit_started_at: Date | null; error_count: number }>(
        manager,
        `UPDATE batch_jobs
            SET claim_token = gen_random_uuid(), claimed_by = $2,
                next_check_at = now() + make_interval(secs => $3)
          WHERE id = ANY($1::uuid[])
        RETURNING id, claim_token, submit_started_at, error_count`,
        [due.map((row) => row.id), args.instanceId, args.leaseSeconds],
      );
    });
    if (rows.length === 0) return [];
    const jobs = await this.jobs.findBy(rows.map((row) => ({ id: row.id })));
    const byId = new Map(jobs.map((job) => [job.id, job]));
    return rows.flatMap((row) => {
      const job = byId.get(row.id);
      return job ? [{ job, token: row.claim_token, submitStartedAt: row.submit_started_at, errorCount: row.error_count }] : [];
    });
  }

  /**
   * Confirms the claim and extends its lease; false when it is no longer ours.
   * A job paused meanwhile (issue 13) answers false too, and the claim is
   * handed back in the same statement: the step stops before its next OpenAI
   * call and the paused job holds no claim.
   */
  async fence(claim: JobClaim, leaseSeconds: number): Promise<boolean> {
    const rows = await query<{ paused: boolean }>(
      this.dataSource,
      `UPDATE batch_jobs
          SET next_check_at = CASE WHEN paused THEN now() ELSE now() + make_interval(secs => $4) END,
              claim_token = CASE WHEN paused THEN NULL ELSE claim_token END,
              claimed_by = CASE WHEN paused THEN NULL ELSE claimed_by END
        WHERE id = $1 AND claim_token = $2 AND status = ANY($3) RETURNING paused`,
      [claim.jobId, claim.token, ACTIVE, leaseSeconds],
    );
    return rows.length > 0 && !rows[0].paused;
  }

  /** Extends the lease of the claims still ours among `tokens`; returns those tokens. */
  async renewClaims(tokens: string[], leaseSeconds: number): Promise<Set<string>> {
    const rows = await query<{ claim_token: string }>(
      this.dataSource,
      `UPDATE batch_jobs SET next_check_at = now() + make_interval(secs => $3)
        WHERE claim_token = ANY($1::uuid[]) AND status = ANY($2) RETURNING claim_token`,
      [tokens, ACTIVE, leaseSeconds],
    );
    return new Set(rows.map((row) => row.claim_token));
  }

  /** Hands the claims back, due at once, for other workers. Returns how many were still held. */
  releaseClaims(tokens: string[]): Promise<number> {
    return execute(
      this.dataSource,
      `UPDATE batch_jobs SET claim_token = NULL, claimed_by = NULL, next_check_at = now(), updated_at = now()
        WHERE claim_token = ANY($1::uuid[])`,
      [tokens],
    );
  }

  /**
   * Writes `patch` if the claim still holds; `release` also ends the claim and
   * schedules the next check `delayMs` from now. Returns false when the claim
   * was lost (lease expired and taken over, or the job left the active statuses).
   */
  async recordStage(
    claim: JobClaim,
    patch: JobPatch,
    options: { release?: { delayMs: number; resetErrors: boolean }; tx?: Transaction } = {},
  ): Promise<boolean> {
    const sets: string[] = ['updated_at = now()'];
    const params: unknown[] = [claim.jobId, claim.token, ACTIVE];
    for (const [key, value] of Object.entries(patch) as [keyof JobPatch, unknown][]) {
      if (value === undefined) continue;
      params.push(value);
      sets.push(`${PATCH_COLUMNS[key]} = $${params.length}`);
    }
    if (options.release) {
      params.push(Math.max(0, options.release.delayMs) / 1000);
      sets.push(`next_check_at = now() + make_interval(secs => $${params.length})`, 'claim_token = NULL', 'claimed_by = NULL');
      if (options.release.resetErrors) sets.push('error_count = 0');
    }
    const changed = await execute(
      options.tx ?? this.dataSource,
      `UPDATE batch_jobs SET ${sets.join(', ')} WHERE id = $1 AND claim_token = $2 AND status = ANY($3)`,
      params,
    );
    return changed > 0;
  }

  /** Records a failed attempt, backs off and ends the claim; returns the new error count (0 when the claim was lost). */
  async recordError(claim: JobClaim, message: string, delayMs: number): Promise<number> {
    const row = await queryOne<{ error_count: number }>(
      this.dataSource,
      `UPDATE batch_jobs
          SET last_error = $4, error_count = error_count + 1, updated_at = now(),
              next_check_at = now() + make_interval(secs => $5), claim_token = NULL, claimed_by = NULL
        WHERE id = $1 AND claim_token = $2 AND status = ANY($3)
      RETURNING error_count`,
      [claim.jobId, claim.token, ACTIVE, message.slice(0, 4000), delayMs / 1000],
    );
    return row?.error_count ?? 0;
  }

  /** The job's one column for its first batch of a stage (reference 001), written only under the claim. */
  async recordBatchId(tx: Transaction, claim: JobClaim, stage: 'vision' | 'translation', openaiBatchId: string): Promise<boolean> {
    const fenced = await execute(
      tx,
      `UPDATE batch_jobs SET ${BATCH_ID_COLUMN[stage]} = $2, updated_at = now() WHERE id = $1 AND claim_token = $3`,
      [claim.jobId, openaiBatchId, claim.token],
    );
    return fenced > 0;
  }

  /** A re-attached orphan batch fills the job's column for its stage if nothing did yet. */
  async adoptBatchId(tx: Transaction, jobId: string, stage: 'vision' | 'translation', openaiBatchId: string): Promise<void> {
    const column = BATCH_ID_COLUMN[stage];
    await execute(tx, `UPDATE batch_jobs SET ${column} = COALESCE(${column}, $2), updated_at = now() WHERE id = $1`, [
      jobId,
      openaiBatchId,
    ]);
  }

  /** The job's status, or undefined when it does not exist. */
  async statusOf(tx: SqlRunner, jobId: string): Promise<JobStatus | undefined> {
    const row = await queryOne<{ status: JobStatus }>(tx, `SELECT status FROM batch_jobs WHERE id = $1`, [jobId]);
    return row?.status;
  }

  /**
   * Shares a lock on the job for the transaction (the API's cancel waits for
   * it rather than racing it); undefined when the job does not exist.
   */
  lockShared(tx: Transaction, jobId: string): Promise<{ status: JobStatus; languages: string[] } | undefined> {
    return queryOne(tx, `SELECT status, languages FROM batch_jobs WHERE id = $1 FOR SHARE`, [jobId]);
  }

  /** Makes an active job due now (an OpenAI webhook said its batch finished); false when it is not waiting. */
  async wake(jobId: string): Promise<boolean> {
    const changed = await execute(
      this.dataSource,
      `UPDATE batch_jobs SET next_check_at = now() WHERE id = $1 AND status = ANY($2) AND next_check_at > now()`,
      [jobId, [...ACTIVE_JOB_STATUSES]],
    );
    return changed > 0;
  }

  /** Adds token usage to the job's sum. */
  async addUsage(tx: SqlRunner, jobId: string, usage: TokenUsage): Promise<void> {
    await execute(tx, `UPDATE batch_jobs SET usage = ${addUsageSql('usage', '$2::jsonb')}, updated_at = now() WHERE id = $1`, [
      jobId,
      JSON.stringify(usage),
    ]);
  }

  /** Which of these jobs are over (completed, failed or cancelled). */
  async terminalAmong(jobIds: string[]): Promise<Set<string>> {
    if (jobIds.length === 0) return new Set();
    const rows = await query<{ id: string }>(this.dataSource, `SELECT id FROM batch_jobs WHERE id = ANY($1::uuid[]) AND status = ANY($2)`, [
      jobIds,
      [...TERMINAL_JOB_STATUSES],
    ]);
    return new Set(rows.map((row) => row.id));
  }

  /** Any job by id (the pipeline and webhooks: not scoped to a client). */
  findById(jobId: string, tx?: Transaction): Promise<BatchJob | null> {
    return (tx ? tx.getRepository(BatchJob) : this.jobs).findOneBy({ id: jobId });
  }

  existsForClient(jobId: string, clientId: string): Promise<boolean> {
    return this.jobs.exists({ where: { id: jobId, clientId } });
  }

  /** Jobs by status (metrics). */
  countByStatus(): Promise<{ status: string; value: number }[]> {
    return query(this.dataSource, `SELECT status, count(*)::int AS value FROM batch_jobs GROUP BY status`);
  }

  /** Age of the oldest job still pending, processing or translating, in seconds (0: none). */
  async oldestActiveAgeSeconds(): Promise<number> {
    const row = await queryOne<{ value: number }>(
      this.dataSource,
      `SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float AS value FROM batch_jobs WHERE status IN ('pending','processing','translating')`,
    );
    return row?.value ?? 0;
  }
}

/** A job just claimed: its row, its fencing token and the claim columns the pipeline reads. */
export interface ClaimedRow {
  job: Job;
  token: string;
  /** When the previous submission attempt of the current stage started (null: none in flight). */
  submitStartedAt: Date | null;
  errorCount: number;
}

const ACTIVE = [...ACTIVE_JOB_STATUSES];

const BATCH_ID_COLUMN = { vision: 'openai_batch_id', translation: 'openai_translation_batch_id' } as const;

const PATCH_COLUMNS: Record<keyof JobPatch, string> = {
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
