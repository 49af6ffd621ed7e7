import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { OpenAiGateway } from '../openai/openai-gateway.service.js';
import type { GatewayRequest, SubmittedBatch } from '../openai/openai-gateway.types.js';
import { TranslationService, targetLanguages } from '../translation/translation.service.js';
import { VisionService } from '../vision/vision.service.js';
import { BatchReconcilerService } from './batch-reconciler.service.js';
import { ImageCheckService } from '../image-check/image-check.service.js';
import { JobClaimRepository, type ClaimedJob } from './job-claim.repository.js';
import { JobFinisherService } from './job-finisher.service.js';
import { VISION, type BatchStageNames } from './pipeline-stage.js';
import { continueAfter, FINISHED, type StageOutcome } from './stage-outcome.js';
import { directBudget } from './direct-fallback.stage.js';
import type { BudgetRetry } from '../openai/openai-gateway.types.js';

/** Lots read per query while the JSONL is written (keyset pagination: memory stays flat for 50,000 lots). */
const PAGE = 1000;
/** Batches created shortly before the recorded start of a submission still count as its own (clock skew). */
const CLOCK_SKEW_MS = 5 * 60_000;

/** Test seam: called after OpenAI created a batch and before its id is saved (a crash there is reference 001). */
export interface SubmitHooks {
  afterCreated?: (batch: SubmittedBatch, jobId: string) => void | Promise<void>;
}

interface PendingLot {
  id: string;
  lot_id: string;
  additional_info: string | null;
  images: { url: string }[];
  missing_images: string[];
  vision_result: string | null;
  budget_retries: BudgetRetry[];
  position: number;
}

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
  readonly hooks: SubmitHooks = {};

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly gateway: OpenAiGateway,
    private readonly claims: JobClaimRepository,
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
      if (found > 0)
        this.logger.warn(`job_id=${job.id}: found ${found} ${names.stage} batch(es) of an interrupted submission; following them`);
    }
    if (await this.hasOpenBatches(job.id, names)) return continueAfter(0, { currentStage: names.awaiting, submitStartedAt: null });

    const waiting = await this.countWaiting(job.id, names);
    if (waiting === 0) return this.finisher.afterStage(claim, names);
    const pastDeadline = job.stageDeadlineAt !== null && job.stageDeadlineAt.getTime() <= Date.now();
    if (pastDeadline || job.stageAttempts >= this.config.pipeline.maxSubmissions) {
      this.logger.warn(
        `job_id=${job.id}: ${names.stage} batch not submitted (${pastDeadline ? 'deadline passed' : 'attempts exhausted'}); finishing ${waiting} lot(s) with direct calls`,
      );
      return continueAfter(0, { currentStage: names.direct, stageAttempts: 0, submitStartedAt: null });
    }

    // The mark must be committed before OpenAI is called: it is what a restart reconciles from.
    const attempt = job.stageAttempts + 1;
    if (!(await this.claims.update(claim, { submitStartedAt: new Date(), stageAttempts: attempt, currentStage: names.submitting })))
      return FINISHED;
    const partOffset = await this.maxPart(job.id, names);
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
    this.logger.log(`job_id=${job.id}: ${names.stage} submitted as ${submitted} batch(es), attempt ${attempt}`);
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
    await this.hooks.afterCreated?.(batch, jobId);
    await this.dataSource.transaction(async (manager) => {
      // The sweep may have attached it already (a replica listed batches between create and here).
      await manager.query(
        `INSERT INTO openai_batches (batch_job_id, stage, part, openai_batch_id, input_file_id, status, request_count)
         VALUES ($1, $2, $3, $4, $5, 'validating', $6)
         ON CONFLICT (openai_batch_id) DO NOTHING`,
        [jobId, names.stage, partOffset + batch.part, batch.openaiBatchId, batch.inputFileId, batch.requestCount],
      );
      if (batch.part === 1) {
        const column = names === VISION ? 'openai_batch_id' : 'openai_translation_batch_id';
        const [, fenced]: [unknown[], number] = await manager.query(
          `UPDATE batch_jobs SET ${column} = $2, updated_at = now() WHERE id = $1 AND claim_token = $3`,
          [jobId, batch.openaiBatchId, claim.token],
        );
        if (fenced === 0)
          this.logger.warn(`job_id=${jobId}: claim lost while ${batch.openaiBatchId} was created; recorded for the new holder to follow`);
      }
    });
  }

  private async *requests(jobId: string, names: BatchStageNames, targets: string[]): AsyncIterable<GatewayRequest> {
    let after = -1;
    for (;;) {
      const page: PendingLot[] = await this.dataSource.query(
        `SELECT id, lot_id, additional_info, images, missing_images, vision_result, position, budget_retries
           FROM batch_lots WHERE batch_job_id = $1 AND status = $2 AND position > $3
          ORDER BY position LIMIT $4`,
        [jobId, names.lotStatus, after, PAGE],
      );
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

  private async hasOpenBatches(jobId: string, names: BatchStageNames): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM openai_batches WHERE batch_job_id = $1 AND stage = $2 AND ingested_at IS NULL AND abandoned_at IS NULL LIMIT 1`,
      [jobId, names.stage],
    );
    return rows.length > 0;
  }

  private async countWaiting(jobId: string, names: BatchStageNames): Promise<number> {
    const [row]: { n: number }[] = await this.dataSource.query(
      `SELECT count(*)::int AS n FROM batch_lots WHERE batch_job_id = $1 AND status = $2`,
      [jobId, names.lotStatus],
    );
    return row.n;
  }

  private async maxPart(jobId: string, names: BatchStageNames): Promise<number> {
    const [row]: { max: number | null }[] = await this.dataSource.query(
      `SELECT max(part) AS max FROM openai_batches WHERE batch_job_id = $1 AND stage = $2`,
      [jobId, names.stage],
    );
    return row.max ?? 0;
  }
}
