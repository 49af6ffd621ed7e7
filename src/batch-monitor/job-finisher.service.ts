import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { JobPipelineService } from '../jobs/job-pipeline.service.js';
import { JobStatus, type LotCounts } from '../jobs/job.types.js';
import { targetLanguages } from '../translation/translation.service.js';
import type { ClaimedJob } from './claim-keeper.service.js';
import { TRANSLATION, VISION, type BatchStageNames } from './pipeline-stage.js';
import { continueAfter, finishJob, type StageOutcome } from './stage-outcome.js';

export type { LotCounts } from '../jobs/job.types.js';

/**
 * Decides where a job goes once a batch stage is done: on to translation, or
 * the end. It only decides; the runner writes the outcome.
 */
@Injectable()
export class JobFinisherService {
  constructor(
    private readonly jobs: JobPipelineService,
    private readonly config: AppConfig,
  ) {}

  lotCounts(jobId: string): Promise<LotCounts> {
    return this.jobs.lotCounts(jobId);
  }

  /** Everything the stage could do is done: on to translation, or the end. */
  async afterStage(claim: ClaimedJob, names: BatchStageNames): Promise<StageOutcome> {
    if (names === VISION && targetLanguages(claim.job.languages).length > 0) {
      const counts = await this.lotCounts(claim.job.id);
      if ((counts[JobStatus.Translating] ?? 0) > 0)
        return this.enter(claim, TRANSLATION, this.config.pipeline.translationDeadlineMs, counts);
    }
    return finishJob();
  }

  /** The outcome that starts a batch stage: its clock, deadline and attempt counter. */
  enter(claim: ClaimedJob, names: BatchStageNames, deadlineMs: number, counts: LotCounts = {}): StageOutcome {
    const now = Date.now();
    return continueAfter(0, {
      status: names.jobStatus,
      currentStage: names.submitting,
      stageStartedAt: new Date(now),
      stageDeadlineAt: new Date(now + deadlineMs),
      stageAttempts: 0,
      submitStartedAt: null,
      processedLots: counts[JobStatus.Completed] ?? claim.job.processedLots,
      failedLots: counts[JobStatus.Failed] ?? claim.job.failedLots,
    });
  }
}
