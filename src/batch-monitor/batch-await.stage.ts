import { Injectable, Logger } from '@nestjs/common';
import { backoffDelay } from '../common/retry/index.js';
import { AppConfig } from '../config/app-config.js';
import { JobStatus } from '../jobs/job.types.js';
import { OpenAiGateway } from '../openai/openai-gateway.service.js';
import type { BatchSnapshot } from '../openai/openai-gateway.types.js';
import { targetLanguages } from '../translation/translation.service.js';
import { BatchIngestionService } from './batch-ingestion.service.js';
import { OpenAiBatchesService } from '../openai-batches/openai-batches.service.js';
import type { ClaimedJob } from './claim-keeper.service.js';
import type { JobPatch } from '../jobs/job.types.js';
import { JobFinisherService, type LotCounts } from './job-finisher.service.js';
import type { OpenAiBatch } from '../openai-batches/openai-batch.repository.js';
import { OpenAiBatchRepository } from '../openai-batches/openai-batch.repository.js';
import { TERMINAL_BATCH_STATUSES, TRANSLATION, type BatchStageNames } from './pipeline-stage.js';
import { continueAfter, type StageOutcome } from './stage-outcome.js';

/** Longest pause between two looks at a running batch. */
const MAX_POLL_MS = 5 * 60_000;
/** Time the translation stage is assumed to add to a vision-stage estimate (a share of the vision stage). */
const TRANSLATION_SHARE = 0.25;

const describeErrors = (snapshot: BatchSnapshot) =>
  snapshot.errors.length === 0
    ? null
    : snapshot.errors
        .map((error) => `${error.code}: ${error.message}`)
        .join('; ')
        .slice(0, 4000);

/**
 * Step 3 (and 5, reference 003): follows a stage's open batches. Finished
 * ones (completed, expired, cancelled, failed) are ingested, keeping partial
 * results; past the stage deadline the open ones are cancelled and, if the
 * cancel does not finish within the grace period, abandoned. Once every batch
 * is settled the lots still waiting are re-submitted (token_limit_exceeded,
 * with backoff, a bounded number of times) or finished with direct calls.
 */
@Injectable()
export class BatchAwaitStage {
  private readonly logger = new Logger('Pipeline');

  constructor(
    private readonly batches: OpenAiBatchRepository,
    private readonly gateway: OpenAiGateway,
    private readonly ingestion: BatchIngestionService,
    private readonly monitor: OpenAiBatchesService,
    private readonly finisher: JobFinisherService,
    private readonly config: AppConfig,
  ) {}

  async handle(claim: ClaimedJob, names: BatchStageNames): Promise<StageOutcome> {
    const job = claim.job;
    const now = Date.now();
    const pastDeadline = job.stageDeadlineAt !== null && job.stageDeadlineAt.getTime() <= now;
    for (const batch of await this.openBatches(job.id, names)) {
      const snapshot = await this.gateway.retrieveBatch(batch.openaiBatchId);
      await this.refresh(batch, snapshot);
      if (TERMINAL_BATCH_STATUSES.includes(snapshot.status)) {
        if (await this.ingestion.ingest(batch.id, claim.signal)) await this.monitor.deleteFiles(job.id);
      } else if (pastDeadline && batch.cancelRequestedAt && now - batch.cancelRequestedAt.getTime() >= this.config.pipeline.cancelGraceMs) {
        // Its partial output is given up: the lots it still holds are finished another way.
        this.logger.warn({
          message: `batch ${batch.openaiBatchId} still ${snapshot.status} after cancel; abandoning it`,
          openai_batch_id: batch.openaiBatchId,
        });
        await this.batches.abandon(batch.id, { lastError: `stage deadline passed; still ${snapshot.status} after cancel` });
      } else if (pastDeadline && snapshot.status !== 'cancelling') {
        this.logger.warn({
          message: `${names.stage} stage deadline passed; cancelling batch ${batch.openaiBatchId} (${snapshot.status})`,
          openai_batch_id: batch.openaiBatchId,
        });
        await this.monitor.cancelOne(batch);
      }
    }

    const open = await this.openBatches(job.id, names);
    const counts = await this.finisher.lotCounts(job.id);
    if (open.length > 0) return continueAfter(this.nextCheckMs(claim, open, pastDeadline), this.progress(claim, names, counts, open));

    if ((counts[names.lotStatus] ?? 0) === 0) return this.finisher.afterStage(claim, names);
    return this.afterSettled(claim, names, pastDeadline);
  }

  /** Every batch settled but lots remain: another batch later (token limit) or direct calls now. */
  private async afterSettled(claim: ClaimedJob, names: BatchStageNames, pastDeadline: boolean): Promise<StageOutcome> {
    const job = claim.job;
    const { maxSubmissions, resubmitBackoffMs } = this.config.pipeline;
    // The latest submission decides: an older token-limited round does not make an expired one retryable.
    const latest = await this.batches.latest(job.id, names.stage);
    const tokenLimited = latest?.status === 'failed' && (latest.lastError ?? '').includes('token_limit_exceeded');
    if (tokenLimited && !pastDeadline && job.stageAttempts < maxSubmissions) {
      const delayMs = backoffDelay(job.stageAttempts, { baseMs: resubmitBackoffMs });
      this.logger.warn(`${names.stage} batch hit token_limit_exceeded; submitting the rest again in ${Math.round(delayMs / 1000)} s`);
      return continueAfter(delayMs, { currentStage: names.submitting, submitStartedAt: null });
    }
    this.logger.warn(`${names.stage} batches settled with lots left; finishing them with direct calls`);
    return continueAfter(0, { currentStage: names.direct, stageAttempts: 0 });
  }

  private openBatches(jobId: string, names: BatchStageNames): Promise<OpenAiBatch[]> {
    return this.batches.open(jobId, names.stage);
  }

  private async refresh(batch: OpenAiBatch, snapshot: BatchSnapshot): Promise<void> {
    const patch = {
      status: snapshot.status,
      outputFileId: snapshot.outputFileId,
      errorFileId: snapshot.errorFileId,
      completedCount: snapshot.requestCounts.completed,
      failedCount: snapshot.requestCounts.failed,
      requestCount: snapshot.requestCounts.total || batch.requestCount,
      lastError: describeErrors(snapshot) ?? batch.lastError,
    };
    Object.assign(batch, patch);
    await this.batches.refresh(batch.id, patch);
  }

  /** Often while a stage is young, less so as it ages; never past the deadline or a pending cancel. */
  private nextCheckMs(claim: ClaimedJob, open: OpenAiBatch[], pastDeadline: boolean): number {
    const poll = this.config.worker.pollIntervalMs;
    if (pastDeadline || open.some((batch) => batch.cancelRequestedAt)) return poll;
    const age = Date.now() - (claim.job.stageStartedAt?.getTime() ?? Date.now());
    const untilDeadline = (claim.job.stageDeadlineAt?.getTime() ?? Infinity) - Date.now();
    return Math.max(poll, Math.min(age / 10, MAX_POLL_MS, untilDeadline));
  }

  /** Progress so far: finished lots, plus what OpenAI reports done in the job's last stage; ETA by extrapolation. */
  private progress(claim: ClaimedJob, names: BatchStageNames, counts: LotCounts, open: OpenAiBatch[]): JobPatch {
    const job = claim.job;
    const lastStage = names === TRANSLATION || targetLanguages(job.languages).length === 0;
    const done = open.reduce((sum, batch) => sum + batch.completedCount, 0);
    const failed = open.reduce((sum, batch) => sum + batch.failedCount, 0);
    const requested = open.reduce((sum, batch) => sum + batch.requestCount, 0);
    const patch: JobPatch = {
      processedLots: (counts[JobStatus.Completed] ?? 0) + (lastStage ? done : 0),
      failedLots: (counts[JobStatus.Failed] ?? 0) + (lastStage ? failed : 0),
    };
    const fraction = requested > 0 ? (done + failed) / requested : 0;
    if (fraction > 0 && job.stageStartedAt) {
      const started = job.stageStartedAt.getTime();
      const stageMs = (Date.now() - started) / fraction;
      patch.estimatedCompletion = new Date(started + stageMs * (lastStage ? 1 : 1 + TRANSLATION_SHARE));
    }
    return patch;
  }
}
