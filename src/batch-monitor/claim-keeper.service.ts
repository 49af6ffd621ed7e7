import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import type { Transaction } from '../database/sql.js';
import { JobPipelineService } from '../jobs/job-pipeline.service.js';
import type { Job, JobClaim, JobPatch } from '../jobs/job.types.js';
import { WorkerHeartbeatService } from '../worker/worker-heartbeat.service.js';

/** A job this worker holds: its row as claimed plus the fencing token every write must present. */
export interface ClaimedJob extends JobClaim {
  job: Job;
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

export type { JobPatch } from '../jobs/job.types.js';

/**
 * The claims this process holds (SPEC §5 "nothing twice"): taken, renewed,
 * fenced and handed back through the jobs module, which writes them on
 * `batch_jobs`. Each claim carries an abort signal that fires when the claim
 * is lost (taken over, job cancelled, renewal impossible) or shutdown's grace
 * ran out, so nothing more is bought for a job this worker no longer holds.
 */
@Injectable()
export class ClaimKeeper {
  private readonly logger = new Logger('Pipeline');
  /** Claims this process holds, by token: renewed by the keeper, fenced before billable calls, released on shutdown. */
  private readonly held = new Map<string, Held>();
  private readonly windDown = new AbortController();
  /** Claims whose step ended without a database to record it on: released as soon as it is back. */
  private readonly unreleased = new Set<string>();

  constructor(
    private readonly jobs: JobPipelineService,
    private readonly heartbeats: WorkerHeartbeatService,
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
    const rows = await this.jobs.claimDue({
      limit,
      instanceId: this.config.instanceId,
      liveInstanceIds: await this.heartbeats.liveInstanceIds(),
      leaseSeconds: this.leaseSeconds,
    });
    const now = Date.now();
    return rows.map((row) => {
      const controller = new AbortController();
      const claim: ClaimedJob = {
        job: row.job,
        jobId: row.job.id,
        token: row.token,
        submitStartedAt: row.submitStartedAt,
        errorCount: row.errorCount,
        signal: controller.signal,
        stopping: this.windDown.signal,
      };
      this.held.set(claim.token, { claim, controller, confirmedAt: now });
      return claim;
    });
  }

  private get leaseSeconds(): number {
    return this.config.pipeline.claimLeaseMs / 1000;
  }

  /**
   * Verifies in the database that the claim is still ours, and extends its
   * lease; called immediately before every billable OpenAI call. Throws
   * ClaimLostError (and aborts the claim's signal) when it is not.
   */
  async fence(claim: ClaimedJob): Promise<void> {
    if (claim.signal.aborted) throw claim.signal.reason;
    if (!(await this.jobs.fence(claim, this.leaseSeconds))) {
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
      await this.jobs.releaseClaims(pending);
      for (const token of pending) this.unreleased.delete(token);
    }
    if (this.held.size === 0) return;
    const tokens = [...this.held.keys()];
    try {
      const kept = await this.jobs.renewClaims(tokens, this.leaseSeconds);
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
    return this.jobs.releaseClaims(tokens);
  }

  private lose(token: string, why: string): void {
    const held = this.held.get(token);
    if (!held) return;
    this.held.delete(token);
    if (!held.controller.signal.aborted) {
      this.logger.warn({
        message: `claim lost (${why}); abandoning the step`,
        job_id: held.claim.job.id,
        stage: held.claim.job.currentStage,
      });
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
    options: { release?: { delayMs: number; resetErrors: boolean }; tx?: Transaction } = {},
  ): Promise<boolean> {
    const changed = await this.jobs.recordStage(claim, patch, options);
    if (changed) Object.assign(claim.job, patch);
    if (options.release) this.forget(claim);
    else if (!changed) this.lose(claim.token, 'a fenced write found the claim gone');
    return changed;
  }

  /** Records a failed attempt on the row and backs off; returns the new error count (0 when the claim was lost). */
  async recordError(claim: ClaimedJob, message: string, delayMs: number): Promise<number> {
    const errors = await this.jobs.recordError(claim, message, delayMs);
    this.forget(claim);
    return errors;
  }
}
