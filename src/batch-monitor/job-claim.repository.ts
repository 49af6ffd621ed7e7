import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { BatchJob } from '../jobs/entities/batch-job.entity.js';
import { ACTIVE_JOB_STATUSES } from '../jobs/job.types.js';

/** A job this worker holds: its row as claimed plus the fencing token every write must present. */
export interface ClaimedJob {
  job: BatchJob;
  token: string;
  /** When the previous submission attempt of the current stage started (null: none in flight). */
  submitStartedAt: Date | null;
  errorCount: number;
  /**
   * Aborts when the claim is lost (taken over, job cancelled, renewal impossible) or when shutdown's grace
   * ran out: every OpenAI call of the step gets it, so nothing is created for a job this worker no longer holds.
   */
  signal: AbortSignal;
  /** Fires when shutdown begins: loops end at their next chunk boundary and hand the job back. */
  stopping: AbortSignal;
}

/** The claim is no longer this worker's: the step is abandoned, nothing more is written or bought. */
export class ClaimLostError extends Error {
  constructor(jobId: string, why: string) {
    super(`claim on job ${jobId} lost: ${why}`);
    this.name = 'ClaimLostError';
  }
}

interface Held {
  claim: ClaimedJob;
  controller: AbortController;
  /** Last time the database confirmed the claim (claim, renewal or fence). */
  confirmedAt: number;
}

/** Columns a stage may change on its job (the claim columns are the repository's own). */
export type JobPatch = Partial<
  Pick<
    BatchJob,
    | 'status'
    | 'currentStage'
    | 'stageStartedAt'
    | 'stageDeadlineAt'
    | 'stageAttempts'
    | 'processedLots'
    | 'failedLots'
    | 'estimatedCompletion'
    | 'startedAt'
    | 'completedAt'
    | 'errorMessage'
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
  private readonly logger = new Logger('Pipeline');
  /** Claims this process holds, by token: renewed by the keeper, fenced before billable calls, released on shutdown. */
  private readonly held = new Map<string, Held>();
  private readonly windDown = new AbortController();
  /** Claims whose step ended without a database to record it on: released as soon as it is back. */
  private readonly unreleased = new Set<string>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  /** Claims this process must keep alive or hand back (the keeper runs while this is above 0). */
  get heldCount(): number {
    return this.held.size + this.unreleased.size;
  }

  /**
   * Claims due jobs, and jobs whose holder's heartbeat is stale or gone (a
   * crashed or killed worker: its lease is renewed by nobody, but waiting for
   * the whole lease would stall the job for WORKER_CLAIM_LEASE).
   */
  async claimDue(limit: number): Promise<ClaimedJob[]> {
    if (this.windDown.signal.aborted) return [];
    const rows: { id: string; claim_token: string; submit_started_at: Date | null; error_count: number }[] =
      await this.dataSource.transaction(async (manager) => {
        const due: { id: string }[] = await manager.query(
          `SELECT id FROM batch_jobs
            WHERE status = ANY($1) AND processing_mode = 'batch' AND NOT paused
              AND (next_check_at <= now()
                   OR (claim_token IS NOT NULL AND NOT EXISTS (
                         SELECT 1 FROM worker_heartbeats h
                          WHERE h.instance_id = batch_jobs.claimed_by
                            AND h.last_beat_at > now() - make_interval(secs => $3))))
            ORDER BY next_check_at
            LIMIT $2
            FOR UPDATE OF batch_jobs SKIP LOCKED`,
          [ACTIVE, limit, this.config.worker.heartbeatStaleMs / 1000],
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
    const now = Date.now();
    return rows
      .filter((row) => byId.has(row.id))
      .map((row) => {
        const controller = new AbortController();
        const claim: ClaimedJob = {
          job: byId.get(row.id)!,
          token: row.claim_token,
          submitStartedAt: row.submit_started_at,
          errorCount: row.error_count,
          signal: controller.signal,
          stopping: this.windDown.signal,
        };
        this.held.set(claim.token, { claim, controller, confirmedAt: now });
        return claim;
      });
  }

  /**
   * Verifies in the database that the claim is still ours, and extends its
   * lease; called immediately before every billable OpenAI call. Throws
   * ClaimLostError (and aborts the claim's signal) when it is not.
   */
  async fence(claim: ClaimedJob): Promise<void> {
    if (claim.signal.aborted) throw claim.signal.reason;
    const [rows]: [unknown[], number] = await this.dataSource.query(
      `UPDATE batch_jobs SET next_check_at = now() + make_interval(secs => $4)
        WHERE id = $1 AND claim_token = $2 AND status = ANY($3) RETURNING 1`,
      [claim.job.id, claim.token, ACTIVE, this.config.pipeline.claimLeaseMs / 1000],
    );
    if (rows.length === 0) {
      this.lose(claim.token, 'taken over by another worker, or the job left the active statuses');
      throw claim.signal.reason;
    }
    const held = this.held.get(claim.token);
    if (held) held.confirmedAt = Date.now();
  }

  /**
   * Extends the lease of every claim still held (the keeper calls it every
   * beat while a step runs). A claim the database no longer confirms is
   * aborted, and so is one that could not be confirmed for half the
   * staleness bound (a worker cut off from the database must stop before a
   * replica takes its job over).
   */
  async renewHeld(): Promise<void> {
    if (this.unreleased.size > 0) {
      const pending = [...this.unreleased];
      await this.dataSource.query(
        `UPDATE batch_jobs SET claim_token = NULL, claimed_by = NULL, next_check_at = now() WHERE claim_token = ANY($1::uuid[])`,
        [pending],
      );
      for (const token of pending) this.unreleased.delete(token);
    }
    if (this.held.size === 0) return;
    const tokens = [...this.held.keys()];
    try {
      const [rows]: [{ claim_token: string }[], number] = await this.dataSource.query(
        `UPDATE batch_jobs SET next_check_at = now() + make_interval(secs => $3)
          WHERE claim_token = ANY($1::uuid[]) AND status = ANY($2) RETURNING claim_token`,
        [tokens, ACTIVE, this.config.pipeline.claimLeaseMs / 1000],
      );
      const kept = new Set(rows.map((row) => row.claim_token));
      const now = Date.now();
      for (const token of tokens) {
        const held = this.held.get(token);
        if (!held) continue; // released meanwhile
        if (kept.has(token)) held.confirmedAt = now;
        else this.lose(token, 'taken over by another worker, or the job left the active statuses');
      }
    } catch (error) {
      const limit = Math.min(this.config.worker.heartbeatStaleMs, this.config.pipeline.claimLeaseMs) / 2;
      for (const [token, held] of this.held) {
        if (Date.now() - held.confirmedAt > limit) this.lose(token, `not confirmed for ${Math.round(limit)} ms (${String(error)})`);
      }
      throw error;
    }
  }

  /** Forgets a claim whose step is over (its outcome written, or abandoned). */
  forget(claim: ClaimedJob): void {
    this.held.delete(claim.token);
  }

  /** A step that ended while the database was away: its claim is handed back once the database answers again. */
  releaseLater(claim: ClaimedJob): void {
    if (this.held.delete(claim.token)) this.unreleased.add(claim.token);
  }

  /** Shutdown begins: no new claims; running loops see `stopping` and hand their jobs back at the next boundary. */
  beginShutdown(): void {
    if (!this.windDown.signal.aborted) this.windDown.abort(new Error('shutting down'));
  }

  /** Shutdown's grace ran out: every step still running is aborted. */
  abortHeld(reason: Error): void {
    for (const held of this.held.values()) if (!held.controller.signal.aborted) held.controller.abort(reason);
  }

  /** Hands claims still held (all, or `only` these) back to the other workers, due at once (shutdown). Returns how many. */
  async releaseHeld(only?: ClaimedJob[]): Promise<number> {
    const tokens = only
      ? only.map((claim) => claim.token).filter((token) => this.held.has(token))
      : [...this.held.keys(), ...this.unreleased];
    if (tokens.length === 0) return 0;
    for (const token of tokens) this.held.delete(token);
    if (!only) this.unreleased.clear();
    const [, count]: [unknown[], number] = await this.dataSource.query(
      `UPDATE batch_jobs SET claim_token = NULL, claimed_by = NULL, next_check_at = now(), updated_at = now()
        WHERE claim_token = ANY($1::uuid[])`,
      [tokens],
    );
    return count;
  }

  private lose(token: string, why: string): void {
    const held = this.held.get(token);
    if (!held) return;
    this.held.delete(token);
    if (!held.controller.signal.aborted) {
      this.logger.warn(`job_id=${held.claim.job.id}: claim lost (${why}); abandoning the step`);
      held.controller.abort(new ClaimLostError(held.claim.job.id, why));
    }
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
    if (options.release) this.forget(claim);
    else if (!changed) this.lose(claim.token, 'a fenced write found the claim gone');
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
    this.forget(claim);
    return rows[0][0]?.error_count ?? 0;
  }
}
