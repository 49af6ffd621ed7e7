import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { UnitOfWork } from '../database/unit-of-work.js';
import { JobPipelineService } from '../jobs/job-pipeline.service.js';
import { OpenAiGateway } from '../openai/openai-gateway.service.js';
import type { GatewayRequest, SubmittedBatch } from '../openai/openai-gateway.types.js';
import { TranslationService, targetLanguages } from '../translation/translation.service.js';
import { VisionService } from '../vision/vision.service.js';
import { BatchReconcilerService } from './batch-reconciler.service.js';
import { ImageCheckService } from '../image-check/image-check.service.js';
import { ClaimKeeper, type ClaimedJob } from './claim-keeper.service.js';
import { JobFinisherService } from './job-finisher.service.js';
import { OpenAiBatchRepository } from '../openai-batches/openai-batch.repository.js';
import { VISION, type BatchStageNames } from './pipeline-stage.js';
import { ABANDONED, continueAfter, type StageOutcome } from './stage-outcome.js';
import { directBudget } from './direct-fallback.stage.js';

/** Lots read per query while the JSONL is written (keyset pagination: memory stays flat for 50,000 lots). */
const PAGE = 1000;
/** Batches created shortly before the recorded start of a submission still count as its own (clock skew). */
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Steps 2 and 4: builds a stage's JSONL (one line per lot still waiting,
 * custom_id = the lot's row id) and submits it through the gateway. Each
 * batch's row is written the moment OpenAI returns its id. Before calling
 * OpenAI the job is marked "submission in flight"; a job found with that mark
 * (we crashed, or a replica did) first looks at OpenAI for a batch carrying
 * its metadata and follows it instead of creating a duplicate.
 */
@Injectable()
export class BatchSubmitStage {
  private readonly logger = new Logger('Pipeline');

  constructor(
    private readonly jobs: JobPipelineService,
    private readonly batches: OpenAiBatchRepository,
    private readonly unitOfWork: UnitOfWork,
    private readonly gateway: OpenAiGateway,
    private readonly claims: ClaimKeeper,
    private readonly finisher: JobFinisherService,
    private readonly reconciler: BatchReconcilerService,
    private readonly vision: VisionService,
    private readonly translation: TranslationService,
    private readonly config: AppConfig,
  ) {}

  async handle(claim: ClaimedJob, names: BatchStageNames): Promise<StageOutcome> {
    const job = claim.job;
    if (claim.submitStartedAt) {
      const found = await this.reconciler.attachOrphans({
        jobId: job.id,
        since: new Date(claim.submitStartedAt.getTime() - CLOCK_SKEW_MS),
      });
      if (found > 0) this.logger.warn(`found ${found} ${names.stage} batch(es) of an interrupted submission; following them`);
    }
    if (await this.batches.hasOpen(job.id, names.stage)) return continueAfter(0, { currentStage: names.awaiting, submitStartedAt: null });

    const waiting = await this.jobs.countWaiting(job.id, names.lotStatus);
    if (waiting === 0) return this.finisher.afterStage(claim, names);
    const pastDeadline = job.stageDeadlineAt !== null && job.stageDeadlineAt.getTime() <= Date.now();
    if (pastDeadline || job.stageAttempts >= this.config.pipeline.maxSubmissions) {
      this.logger.warn(
        `${names.stage} batch not submitted (${pastDeadline ? 'deadline passed' : 'attempts exhausted'}); finishing ${waiting} lot(s) with direct calls`,
      );
      return continueAfter(0, { currentStage: names.direct, stageAttempts: 0, submitStartedAt: null });
    }

    // The mark must be committed before OpenAI is called: it is what a restart reconciles from.
    // (A mark on the stage the job is in, not a move: the runner alone advances the stage.)
    const attempt = job.stageAttempts + 1;
    if (!(await this.claims.update(claim, { submitStartedAt: new Date(), stageAttempts: attempt }))) return ABANDONED;
    const partOffset = await this.batches.maxPart(job.id, names.stage);
    const lines = this.requests(job.id, names, targetLanguages(job.languages));
    // Fenced right before each upload and each create; a lost claim aborts whatever is in flight.
    const batches = this.gateway.submitBatches(lines, {
      jobId: job.id,
      stage: names.stage,
      signal: claim.signal,
      fence: () => this.claims.fence(claim),
    });
    let submitted = 0;
    for await (const batch of batches) {
      // Saved before the gateway even writes the next part (reference 001).
      await this.recordCreated(claim, names, batch, partOffset);
      submitted++;
    }
    this.logger.log(`${names.stage} submitted as ${submitted} batch(es), attempt ${attempt}`);
    return continueAfter(this.config.worker.pollIntervalMs, { currentStage: names.awaiting, submitStartedAt: null });
  }

  /**
   * Saves the batch row (and the job's one column for it) the moment OpenAI
   * answered (reference 001). The batch exists and is paid for whoever holds
   * the job now, so its row is written in any case (the holder follows it
   * rather than creating another); the job's column only under our claim.
   */
  private async recordCreated(claim: ClaimedJob, names: BatchStageNames, batch: SubmittedBatch, partOffset: number): Promise<void> {
    const jobId = claim.job.id;
    await this.unitOfWork.run(async (tx) => {
      await this.batches.recordCreated(tx, {
        jobId,
        stage: names.stage,
        part: partOffset + batch.part,
        openaiBatchId: batch.openaiBatchId,
        inputFileId: batch.inputFileId,
        requestCount: batch.requestCount,
      });
      if (batch.part === 1 && !(await this.jobs.recordBatchId(tx, claim, names.stage, batch.openaiBatchId)))
        this.logger.warn({
          message: `claim lost while ${batch.openaiBatchId} was created; recorded for the new holder to follow`,
          job_id: jobId,
          openai_batch_id: batch.openaiBatchId,
        });
    });
  }

  private async *requests(jobId: string, names: BatchStageNames, targets: string[]): AsyncIterable<GatewayRequest> {
    let after = -1;
    for (;;) {
      const page = await this.jobs.waitingLots(jobId, names.lotStatus, after, PAGE);
      for (const lot of page) {
        // A lot resubmitted after its answer was cut at max_output_tokens keeps its larger budget.
        const budget = directBudget(lot.budget_retries, names);
        const overrides = budget === 'default' ? undefined : { maxOutputTokens: budget.retryBudget };
        if (names === VISION) {
          const usable = ImageCheckService.usableUrls(lot.images, lot.missing_images);
          yield this.vision.request({ id: lot.id, lotId: lot.lot_id, additionalInfo: lot.additional_info }, usable, overrides);
        } else {
          yield this.translation.request(lot.id, lot.vision_result ?? '', targets, overrides);
        }
      }
      if (page.length < PAGE) return;
      after = page[page.length - 1].position;
    }
  }
}
