import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { WorkerTaskRegistry } from '../worker/worker-task.js';
import { BatchAwaitStage } from './batch-await.stage.js';
import { BatchReconcilerService } from './batch-reconciler.service.js';
import { BatchSubmitStage } from './batch-submit.stage.js';
import { DirectFallbackStage } from './direct-fallback.stage.js';
import { ImageCheckStage } from './image-check.stage.js';
import { JobClaimRepository, type ClaimedJob } from './job-claim.repository.js';
import { JobFinisherService } from './job-finisher.service.js';
import { ACTIVE_STAGES, isActiveStage, PipelineStage, TRANSLATION, VISION, type ActiveStage } from './pipeline-stage.js';
import type { StageOutcome } from './stage-outcome.js';
import { errorText } from '../common/errors/error-text.js';

/** Jobs claimed (and worked on in parallel) at once by one worker. */
const JOBS_PER_CLAIM = 4;
/** One run keeps claiming due jobs for at most this long. */
const RUN_BUDGET_MS = 60_000;
/** Consecutive errors after which a job fails (once its stage deadline, if any, has passed). */
const MAX_CONSECUTIVE_ERRORS = 10;
const MAX_ERROR_BACKOFF_MS = 10 * 60_000;

export const PIPELINE_TASK = 'batch-pipeline';
export const RECONCILE_TASK = 'batch-reconcile';

type StageHandler = (claim: ClaimedJob) => Promise<StageOutcome>;

/**
 * The worker side of the batch pipeline, as two worker tasks. `batch-pipeline`
 * only claims due jobs and dispatches each to the handler of its stage, in
 * its own try/catch; the outcome (next stage, next check, or the error and a
 * backoff) is written on the job row. `batch-reconcile` runs the sweep every
 * BATCH_RECONCILE_INTERVAL.
 */
@Injectable()
export class PipelineRunnerService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('Pipeline');
  private readonly handlers: Record<ActiveStage, StageHandler>;
  private lastSweepAt = 0;
  private stopping = false;

  constructor(
    private readonly registry: WorkerTaskRegistry,
    private readonly claims: JobClaimRepository,
    private readonly finisher: JobFinisherService,
    private readonly reconciler: BatchReconcilerService,
    private readonly config: AppConfig,
    imageCheck: ImageCheckStage,
    submit: BatchSubmitStage,
    wait: BatchAwaitStage,
    direct: DirectFallbackStage,
  ) {
    this.handlers = {
      [PipelineStage.Queued]: (claim) => imageCheck.handle(claim),
      [PipelineStage.ImageCheck]: (claim) => imageCheck.handle(claim),
      [PipelineStage.VisionSubmitting]: (claim) => submit.handle(claim, VISION),
      [PipelineStage.VisionAnalysis]: (claim) => wait.handle(claim, VISION),
      [PipelineStage.VisionDirect]: (claim) => direct.handle(claim, VISION),
      [PipelineStage.TranslationSubmitting]: (claim) => submit.handle(claim, TRANSLATION),
      [PipelineStage.Translation]: (claim) => wait.handle(claim, TRANSLATION),
      [PipelineStage.TranslationDirect]: (claim) => direct.handle(claim, TRANSLATION),
    };
  }

  onModuleInit(): void {
    // A stage without a handler would leave jobs sitting in the database forever: refuse to start.
    const missing = ACTIVE_STAGES.filter((stage) => typeof this.handlers[stage] !== 'function');
    if (missing.length > 0) throw new Error(`Pipeline stages without a handler: ${missing.join(', ')}`);
    this.registry.register({ name: PIPELINE_TASK, run: () => this.runDue() });
    this.registry.register({ name: RECONCILE_TASK, run: () => this.sweepIfDue() });
  }

  /** Claims and handles due jobs until none is due (or the run budget is spent). */
  async runDue(): Promise<void> {
    const stopAt = Date.now() + RUN_BUDGET_MS;
    while (Date.now() < stopAt && !this.stopping) {
      const claimed = await this.claims.claimDue(JOBS_PER_CLAIM);
      if (claimed.length === 0) return;
      await Promise.all(claimed.map((claim) => this.handle(claim)));
    }
  }

  /** Claims no new job once shutdown began (claimed ones finish their step, or their lease expires). */
  onApplicationShutdown(): void {
    this.stopping = true;
  }

  async sweepIfDue(): Promise<void> {
    if (this.stopping || Date.now() - this.lastSweepAt < this.config.pipeline.reconcileIntervalMs) return;
    this.lastSweepAt = Date.now();
    await this.reconciler.sweep();
  }

  private async handle(claim: ClaimedJob): Promise<void> {
    const stage = claim.job.currentStage;
    try {
      const outcome = isActiveStage(stage)
        ? await this.handlers[stage](claim)
        : await this.finisher.finish(claim, `The job is in an unknown pipeline stage "${stage}".`);
      if (outcome.kind === 'continue') {
        await this.claims.update(claim, outcome.patch, { release: { delayMs: outcome.delayMs, resetErrors: true } });
      }
    } catch (error) {
      await this.recordFailure(claim, stage, error).catch((inner: unknown) =>
        this.logger.error(`job_id=${claim.job.id}: could not record a failure: ${String(inner)}`),
      );
    }
  }

  /** Every error is written on the row; the job is retried with backoff, and fails once errors persist past its deadline. */
  private async recordFailure(claim: ClaimedJob, stage: string, error: unknown): Promise<void> {
    const message = `${stage}: ${errorText(error)}`;
    const errors = claim.errorCount + 1;
    const deadline = claim.job.stageDeadlineAt?.getTime() ?? 0;
    this.logger.error(`job_id=${claim.job.id}: ${message} (error ${errors} in a row)`, error instanceof Error ? error.stack : undefined);
    if (errors >= MAX_CONSECUTIVE_ERRORS && Date.now() >= deadline) {
      await this.finisher.finish(claim, `Processing stopped after ${errors} consecutive errors; last: ${message}`);
      return;
    }
    const delayMs = Math.min(MAX_ERROR_BACKOFF_MS, this.config.worker.pollIntervalMs * 2 ** (errors - 1));
    await this.claims.recordError(claim, message, delayMs);
  }
}
