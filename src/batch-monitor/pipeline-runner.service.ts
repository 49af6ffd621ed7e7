import { OpenAiBatchesService } from '../openai-batches/openai-batches.service.js';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { WorkerTaskRegistry } from '../worker/worker-task.js';
import { BatchAwaitStage } from './batch-await.stage.js';
import { BatchReconcilerService } from './batch-reconciler.service.js';
import { BatchSubmitStage } from './batch-submit.stage.js';
import { DirectFallbackStage } from './direct-fallback.stage.js';
import { ImageCheckStage } from './image-check.stage.js';
import { ClaimLostError, ClaimKeeper, type ClaimedJob } from './claim-keeper.service.js';
import { ACTIVE_STAGES, isActiveStage, PipelineStage, TRANSLATION, VISION, type ActiveStage } from './pipeline-stage.js';
import { finishJob, type StageOutcome } from './stage-outcome.js';
import { errorText } from '../common/errors/error-text.js';
import { backoffDelay } from '../common/retry/index.js';
import { DatabaseOutageMonitor } from '../database/database-outage.js';
import { UnitOfWork } from '../database/unit-of-work.js';
import { JobPipelineService } from '../jobs/job-pipeline.service.js';
import { WebhooksService } from '../webhooks/webhooks.service.js';
import { withLogFields } from '../common/logging/log-context.js';
import { linksTo, withSpan } from '../common/tracing/tracing.js';

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
 * its own try/catch; the outcome (next stage, next check, the end, or the
 * error and a backoff) is written on the job row here and nowhere else: the
 * stages decide, the runner advances. `batch-reconcile` runs the sweep every
 * BATCH_RECONCILE_INTERVAL.
 */
@Injectable()
export class PipelineRunnerService implements OnModuleInit {
  private readonly logger = new Logger('Pipeline');
  private readonly handlers: Record<ActiveStage, StageHandler>;
  private lastSweepAt = 0;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly registry: WorkerTaskRegistry,
    private readonly claims: ClaimKeeper,
    private readonly jobs: JobPipelineService,
    private readonly webhooks: WebhooksService,
    private readonly unitOfWork: UnitOfWork,
    private readonly reconciler: BatchReconcilerService,
    private readonly config: AppConfig,
    private readonly outage: DatabaseOutageMonitor,
    private readonly batchFiles: OpenAiBatchesService,
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
    this.registry.registerKeeper({
      name: PIPELINE_TASK,
      held: () => this.claims.heldCount,
      renew: () => this.claims.renewHeld(),
      stop: (graceMs) => this.stop(graceMs),
    });
  }

  /** Claims and handles due jobs until none is due (or the run budget is spent, or shutdown began). */
  async runDue(): Promise<void> {
    const stopAt = Date.now() + RUN_BUDGET_MS;
    while (Date.now() < stopAt && !this.stopping) {
      const claimed = await this.claims.claimDue(JOBS_PER_CLAIM);
      if (claimed.length === 0) return;
      // Shutdown began while these were being claimed: hand them straight back.
      if (this.stopping) {
        await this.claims.releaseHeld(claimed);
        return;
      }
      await Promise.all(claimed.map((claim) => this.track(this.handle(claim))));
    }
  }

  private get stopping(): boolean {
    return this.registry.stopping.aborted;
  }

  /**
   * Shutdown (the registry's stop signal already keeps runDue from claiming):
   * in-flight steps get `graceMs` to finish — loops hand their job back at
   * the next chunk — then they are aborted, and every claim still held is
   * released, due at once, so another worker continues immediately.
   */
  private async stop(graceMs: number): Promise<void> {
    this.claims.beginShutdown();
    const settled = Promise.all([...this.inFlight]);
    let timer: NodeJS.Timeout | undefined;
    const expired = await Promise.race([
      settled.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs))),
    ]);
    clearTimeout(timer);
    if (expired) {
      this.logger.warn(`shutdown grace of ${graceMs} ms over: aborting ${this.claims.heldCount} step(s) in flight`);
      this.claims.abortHeld(new Error('shutdown grace period over'));
      await settled;
    }
    const released = await this.claims.releaseHeld();
    if (released > 0) this.logger.log(`released ${released} claim(s) for other workers`);
  }

  private track(step: Promise<void>): Promise<void> {
    this.inFlight.add(step);
    return step.finally(() => this.inFlight.delete(step));
  }

  async sweepIfDue(): Promise<void> {
    if (this.stopping || Date.now() - this.lastSweepAt < this.config.pipeline.reconcileIntervalMs) return;
    this.lastSweepAt = Date.now();
    await this.reconciler.sweep();
  }

  /** One step of one job: its log lines carry the job's fields, its spans hang under one `pipeline.stage` span. */
  private handle(claim: ClaimedJob): Promise<void> {
    const { job } = claim;
    const stage = job.currentStage;
    const openaiBatchId = (stage.startsWith('translation') ? job.openaiTranslationBatchId : job.openaiBatchId) ?? undefined;
    return withLogFields({ job_id: job.id, client_id: job.clientId, stage, openai_batch_id: openaiBatchId }, () =>
      withSpan(
        'pipeline.stage',
        { job_id: job.id, client_id: job.clientId, stage, 'openai.batch_id': openaiBatchId, 'job.attempt': claim.errorCount + 1 },
        () => this.runStep(claim, stage),
        { links: linksTo(job.traceParent) }, // a trace of its own, linked to the request that created the job
      ),
    );
  }

  private async runStep(claim: ClaimedJob, stage: string): Promise<void> {
    try {
      const outcome = isActiveStage(stage)
        ? await this.handlers[stage](claim)
        : finishJob(`The job is in an unknown pipeline stage "${stage}".`);
      await this.advance(claim, outcome);
    } catch (error) {
      if (claim.signal.aborted || error instanceof ClaimLostError) {
        // Lost claim: the new holder carries on. Shutdown: the claim is released below the grace period.
        this.logger.log(`${stage} step abandoned (${errorText(claim.signal.reason ?? error)})`);
        return;
      }
      // Without a database nothing can be recorded: the claim is handed back once it is back (not after the lease).
      if (this.outage.absorb(error)) {
        this.claims.releaseLater(claim);
        return;
      }
      await this.recordFailure(claim, stage, error).catch((inner: unknown) => {
        if (!this.outage.absorb(inner)) this.logger.error(`could not record a failure: ${String(inner)}`);
      });
    } finally {
      // Released with its outcome, or (aborted by shutdown) still held until releaseHeld().
      if (!claim.signal.aborted || !claim.stopping.aborted) this.claims.forget(claim);
    }
  }

  /** Every error is written on the row; the job is retried with backoff, and fails once errors persist past its deadline. */
  private async recordFailure(claim: ClaimedJob, stage: string, error: unknown): Promise<void> {
    const message = `${stage}: ${errorText(error)}`;
    const errors = claim.errorCount + 1;
    const deadline = claim.job.stageDeadlineAt?.getTime() ?? 0;
    this.logger.error(`${message} (error ${errors} in a row)`, error instanceof Error ? error.stack : undefined);
    if (errors >= MAX_CONSECUTIVE_ERRORS && Date.now() >= deadline) {
      await this.advance(claim, finishJob(`Processing stopped after ${errors} consecutive errors; last: ${message}`));
      return;
    }
    const delayMs = backoffDelay(errors, { baseMs: this.config.worker.pollIntervalMs, maxMs: MAX_ERROR_BACKOFF_MS });
    await this.claims.recordError(claim, message, delayMs);
  }

  /** Writes a stage's outcome on the job: the one place a job's stage changes. */
  private async advance(claim: ClaimedJob, outcome: StageOutcome): Promise<void> {
    if (outcome.kind === 'continue') {
      await this.claims.update(claim, outcome.patch, { release: { delayMs: outcome.delayMs, resetErrors: true } });
    } else if (outcome.kind === 'finish') {
      await this.end(claim, outcome.failure);
    }
  }

  /**
   * Ends the job (completed when at least one lot got its descriptions, failed
   * when every lot failed or with `failure`); the terminal write and the
   * webhook deliveries commit in one transaction.
   */
  private async end(claim: ClaimedJob, failure?: string): Promise<void> {
    const ended = await this.unitOfWork.run(async (tx) => {
      const ending = await this.jobs.finish(tx, claim, new Date(), failure);
      if (ending) await this.webhooks.enqueueForJob(claim.jobId, tx);
      return ending;
    });
    this.claims.forget(claim);
    if (ended) this.logger.log(`job ${ended.status} (${ended.completed} lots completed, ${ended.failed} failed)`);
    // Nothing of a finished job stays at OpenAI (files left by a failed delete are retried at the job's next end).
    if (ended) {
      await this.batchFiles
        .deleteFiles(claim.jobId)
        .catch((error: unknown) => this.logger.warn(`deleting the job's files at OpenAI: ${errorText(error)}`));
    }
  }
}
