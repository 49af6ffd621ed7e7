import { Injectable, Logger } from '@nestjs/common';
import pLimit from 'p-limit';
import { backoffDelay } from '../common/retry/index.js';
import { AppConfig } from '../config/app-config.js';
import { UnitOfWork } from '../database/unit-of-work.js';
import { JobPipelineService, type WaitingLot } from '../jobs/job-pipeline.service.js';
import { TranslationService, targetLanguages } from '../translation/translation.service.js';
import { ImageCheckService } from '../image-check/image-check.service.js';
import { ClaimKeeper, type ClaimedJob } from './claim-keeper.service.js';
import { JobFinisherService } from './job-finisher.service.js';
import { translationOutcome, visionOutcome, type LotOutcome } from './lot-outcome.js';
import { VISION, type BatchStageNames } from './pipeline-stage.js';
import { ABANDONED, continueAfter, type StageOutcome } from './stage-outcome.js';
import type { BudgetRetry } from '../openai/openai-gateway.types.js';
import type { DirectBudget } from '../openai/budget-retry.js';
import { VisionService } from '../vision/vision.service.js';

/** Rounds in which OpenAI failed transiently (429/5xx after the gateway's own retries) before the remaining lots fail. */
const MAX_DIRECT_ROUNDS = 5;
/** A claim makes direct calls for at most this long, then lets the tick move on. */
const TIME_BUDGET_MS = 30_000;

/** A lot whose answer was already cut at max_output_tokens in this stage gets its one retry with the larger budget. */
export function directBudget(
  retries: readonly Pick<BudgetRetry, 'stage' | 'retry_max_output_tokens'>[] | null | undefined,
  names: BatchStageNames,
): DirectBudget {
  const retry = (retries ?? []).find((entry) => entry.stage === names.stage);
  return retry ? { retryBudget: retry.retry_max_output_tokens } : 'default';
}

/**
 * Step 5's way out (reference 003: never wait forever): the lots a batch
 * stage could not finish are processed with direct Responses calls, through
 * the gateway's rate limiter, chunk by chunk (resumable: a lot still waiting
 * has not been done). Each lot gets its answer or its error; transport
 * failures are retried in a few spaced rounds, then fail their lots.
 */
@Injectable()
export class DirectFallbackStage {
  private readonly logger = new Logger('Pipeline');

  constructor(
    private readonly jobs: JobPipelineService,
    private readonly unitOfWork: UnitOfWork,
    private readonly vision: VisionService,
    private readonly translation: TranslationService,
    private readonly claims: ClaimKeeper,
    private readonly finisher: JobFinisherService,
    private readonly config: AppConfig,
  ) {}

  async handle(claim: ClaimedJob, names: BatchStageNames): Promise<StageOutcome> {
    const job = claim.job;
    const targets = targetLanguages(job.languages);
    const concurrency = this.config.openai.maxConcurrent;
    const started = Date.now();
    for (;;) {
      const lots = await this.jobs.waitingLots(job.id, names.lotStatus, -1, concurrency * 2);
      if (lots.length === 0) return this.finisher.afterStage(claim, names);

      const outcomes = await pLimit(concurrency).map(lots, (lot) => this.processOne(claim, lot, names, targets));
      const summary = await this.unitOfWork.run(async (tx) => {
        const target = {
          jobId: job.id,
          stage: names.stage,
          lotStatus: names.lotStatus,
          needsTranslation: targets.length > 0,
          billing: { mode: 'direct' as const },
        };
        const written = await this.jobs.recordLotResults(tx, target, outcomes);
        await this.jobs.addUsage(tx, job.id, written.usage);
        return written;
      });
      this.jobs.countBilled(summary.billed);
      this.logger.log(`${names.stage} direct: ${summary.succeeded} ok, ${summary.failed} failed, ${summary.retried} to retry`);

      if (summary.retried > 0) {
        const round = job.stageAttempts + 1;
        if (round >= MAX_DIRECT_ROUNDS) return this.giveUp(claim, names);
        return continueAfter(backoffDelay(round + 1, { baseMs: this.config.worker.pollIntervalMs }), { stageAttempts: round });
      }
      // The job may have been cancelled meanwhile: stop spending on it.
      if (!(await this.claims.update(claim, {}))) return ABANDONED;
      // Shutdown: this chunk is saved; the job goes back to the other workers at once.
      if (claim.stopping.aborted || Date.now() - started > TIME_BUDGET_MS) return continueAfter(0);
    }
  }

  /** One direct call, fenced by the claim right before it leaves and aborted with it. */
  private async processOne(claim: ClaimedJob, lot: WaitingLot, names: BatchStageNames, targets: string[]): Promise<LotOutcome> {
    const guard = { signal: claim.signal, fence: () => this.claims.fence(claim) };
    const budget = directBudget(lot.budget_retries, names);
    if (names === VISION) {
      const usable = ImageCheckService.usableUrls(lot.images, lot.missing_images);
      return visionOutcome(
        lot.id,
        await this.vision.describe({ id: lot.id, lotId: lot.lot_id, additionalInfo: lot.additional_info }, usable, guard, budget),
      );
    }
    return translationOutcome(lot.id, await this.translation.translate(lot.vision_result ?? '', targets, guard, budget));
  }

  /** OpenAI kept failing: the lots still waiting fail with the last error each one got. */
  private async giveUp(claim: ClaimedJob, names: BatchStageNames): Promise<StageOutcome> {
    await this.jobs.failWaitingLots(claim.job.id, names.lotStatus);
    this.logger.warn(`${names.stage} direct calls kept failing; remaining lots failed`);
    return this.finisher.afterStage(claim, names);
  }
}
