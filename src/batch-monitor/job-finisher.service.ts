import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { ACTIVE_JOB_STATUSES, JobStatus } from '../jobs/job.types.js';
import { targetLanguages } from '../translation/translation.service.js';
import { WebhooksService } from '../webhooks/webhooks.service.js';
import { JobClaimRepository, type ClaimedJob } from './job-claim.repository.js';
import { PipelineStage, TRANSLATION, VISION, type BatchStageNames } from './pipeline-stage.js';
import { continueAfter, FINISHED, type StageOutcome } from './stage-outcome.js';

export type LotCounts = Partial<Record<JobStatus, number>>;

/**
 * Moves a job from one batch stage to the next and ends it. A job is
 * `completed` when at least one lot got its descriptions (failed lots carry
 * their own error); `failed` when every lot failed or the job cannot proceed.
 * The terminal write and the webhook deliveries commit in one transaction.
 */
@Injectable()
export class JobFinisherService {
  private readonly logger = new Logger('Pipeline');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly claims: JobClaimRepository,
    private readonly webhooks: WebhooksService,
    private readonly config: AppConfig,
  ) {}

  async lotCounts(jobId: string, manager: EntityManager = this.dataSource.manager): Promise<LotCounts> {
    const rows: { status: JobStatus; n: number }[] = await manager.query(
      `SELECT status, count(*)::int AS n FROM batch_lots WHERE batch_job_id = $1 GROUP BY status`,
      [jobId],
    );
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  }

  /** Everything the stage could do is done: on to translation, or the end. */
  async afterStage(claim: ClaimedJob, names: BatchStageNames): Promise<StageOutcome> {
    if (names === VISION && targetLanguages(claim.job.languages).length > 0) {
      const counts = await this.lotCounts(claim.job.id);
      if ((counts[JobStatus.Translating] ?? 0) > 0)
        return this.enter(claim, TRANSLATION, this.config.pipeline.translationDeadlineMs, counts);
    }
    return this.finish(claim);
  }

  /** The patch that starts a batch stage: its clock, deadline and attempt counter. */
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

  /**
   * Ends the job. With `failure`, the job fails with that reason and so do its
   * unfinished lots; otherwise the lots decide. Returns FINISHED either way.
   */
  async finish(claim: ClaimedJob, failure?: string): Promise<StageOutcome> {
    const jobId = claim.job.id;
    const ended = await this.dataSource.transaction(async (manager) => {
      const reason = failure ?? 'The job ended before this lot was processed.';
      await manager.query(
        `UPDATE batch_lots SET status = 'failed', error_message = COALESCE(error_message, $3), processed_at = now(), updated_at = now()
          WHERE batch_job_id = $1 AND status = ANY($2)`,
        [jobId, [...ACTIVE_JOB_STATUSES], reason],
      );
      const counts = await this.lotCounts(jobId, manager);
      const completed = counts[JobStatus.Completed] ?? 0;
      const failed = counts[JobStatus.Failed] ?? 0;
      const status = failure === undefined && completed > 0 ? JobStatus.Completed : JobStatus.Failed;
      const errorMessage = status === JobStatus.Completed ? null : (failure ?? (await this.allFailedMessage(manager, jobId, failed)));
      const changed = await this.claims.update(
        claim,
        {
          status,
          currentStage: status === JobStatus.Completed ? PipelineStage.Completed : PipelineStage.Failed,
          processedLots: completed,
          failedLots: failed,
          completedAt: new Date(),
          errorMessage,
        },
        { release: { delayMs: 0, resetErrors: true }, manager },
      );
      if (changed) await this.webhooks.enqueueForJob(jobId, manager);
      return changed ? { status, completed, failed } : null;
    });
    if (ended) this.logger.log(`job_id=${jobId}: ${ended.status} (${ended.completed} lots completed, ${ended.failed} failed)`);
    return FINISHED;
  }

  private async allFailedMessage(manager: EntityManager, jobId: string, failed: number): Promise<string> {
    const [first]: { error_message: string | null }[] = await manager.query(
      `SELECT error_message FROM batch_lots WHERE batch_job_id = $1 AND status = 'failed' ORDER BY position LIMIT 1`,
      [jobId],
    );
    return `All ${failed} lot(s) failed. First error: ${first?.error_message ?? 'unknown'}`;
  }
}
