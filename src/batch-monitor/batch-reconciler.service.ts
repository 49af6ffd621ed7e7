import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { UnitOfWork } from '../database/unit-of-work.js';
import { JobPipelineService } from '../jobs/job-pipeline.service.js';
import { TERMINAL_JOB_STATUSES } from '../jobs/job.types.js';
import { OpenAiGateway } from '../openai/openai-gateway.service.js';
import type { BatchSnapshot } from '../openai/openai-gateway.types.js';
import { OpenAiBatchesService } from '../openai-batches/openai-batches.service.js';
import type { BatchStage } from '../openai-batches/openai-batch.types.js';
import { OpenAiBatchRepository } from '../openai-batches/openai-batch.repository.js';
import { TERMINAL_BATCH_STATUSES } from './pipeline-stage.js';
import { errorText } from '../common/errors/error-text.js';
import { isUuid } from '../common/validation/uuid.js';

/** The gateway tags every batch it creates; a batch tagged by another service is never ours. */
const SERVICE_TAG = 'generation-service';
/** After this long we stop asking OpenAI to cancel a batch of a finished job. */
const CANCEL_GIVE_UP_MS = 24 * 3600_000;

/**
 * Reference 001 made impossible: every batch we create carries
 * `metadata.job_id` and `stage`, and this sweep lists recent batches at OpenAI
 * and re-attaches any whose id never reached `openai_batches` (a crash between
 * "create" and "save"). It also keeps asking OpenAI to cancel the batches of
 * jobs that are over (cancelled by the client, or attached after the end).
 * Idempotent, so every replica may run it.
 */
@Injectable()
export class BatchReconcilerService {
  private readonly logger = new Logger('BatchReconciler');

  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly jobs: JobPipelineService,
    private readonly batches: OpenAiBatchRepository,
    private readonly gateway: OpenAiGateway,
    private readonly monitor: OpenAiBatchesService,
    private readonly config: AppConfig,
  ) {}

  /** One full sweep: re-attach orphans from the last stage-deadline window, then chase cancellations. */
  async sweep(): Promise<void> {
    const { visionDeadlineMs, translationDeadlineMs } = this.config.pipeline;
    const windowMs = Math.max(visionDeadlineMs, translationDeadlineMs) + 3600_000;
    await this.attachOrphans({ since: new Date(Date.now() - windowMs) });
    await this.chaseCancellations();
  }

  /**
   * Lists batches created since `since` (for one job, or all) and records the
   * ones of our jobs that have no row. Returns how many were attached.
   */
  async attachOrphans(args: { since: Date; jobId?: string }): Promise<number> {
    const candidates: BatchSnapshot[] = [];
    for await (const snapshot of this.gateway.listBatches({ createdAfter: args.since })) {
      const { job_id: jobId, stage, service } = snapshot.metadata ?? {};
      if (!jobId || !isUuid(jobId) || (stage !== 'vision' && stage !== 'translation')) continue;
      if (service !== undefined && service !== SERVICE_TAG) continue;
      if (args.jobId === undefined || args.jobId === jobId) candidates.push(snapshot);
    }
    if (candidates.length === 0) return 0;
    const knownIds = await this.batches.knownIds(candidates.map((snapshot) => snapshot.id));
    let attached = 0;
    for (const snapshot of candidates.filter((candidate) => !knownIds.has(candidate.id))) {
      if (await this.attach(snapshot)) attached++;
    }
    return attached;
  }

  private async attach(snapshot: BatchSnapshot): Promise<boolean> {
    const jobId = snapshot.metadata.job_id;
    const stage = snapshot.metadata.stage as BatchStage;
    const row = await this.unitOfWork.run(async (tx) => {
      const jobStatus = await this.jobs.statusOf(tx, jobId);
      if (!jobStatus) return null; // a deleted job, or another deployment's: not ours to adopt
      const id = await this.batches.attachOrphan(tx, {
        jobId,
        stage,
        openaiBatchId: snapshot.id,
        inputFileId: snapshot.inputFileId,
        outputFileId: snapshot.outputFileId,
        errorFileId: snapshot.errorFileId,
        status: snapshot.status,
        requestCount: snapshot.requestCounts.total,
        completedCount: snapshot.requestCounts.completed,
        failedCount: snapshot.requestCounts.failed,
      });
      if (!id) return null;
      await this.jobs.adoptBatchId(tx, jobId, stage, snapshot.id);
      return { jobStatus, id };
    });
    if (!row) return false;
    this.logger.warn({
      message: `re-attached ${stage} batch ${snapshot.id} that was never recorded (reference 001)`,
      job_id: jobId,
      openai_batch_id: snapshot.id,
    });
    const over = (TERMINAL_JOB_STATUSES as readonly string[]).includes(row.jobStatus);
    if (over && !TERMINAL_BATCH_STATUSES.includes(snapshot.status)) {
      const batch = await this.batches.findById(row.id);
      if (batch) await this.monitor.cancelOne(batch);
    }
    return true;
  }

  /** Batches still open at OpenAI whose job is over: refresh, cancel, or give up after a day. */
  private async chaseCancellations(): Promise<void> {
    const unsettled = await this.batches.unsettled();
    const over = await this.jobs.terminalAmong([...new Set(unsettled.map((batch) => batch.batchJobId))]);
    const open = unsettled.filter((batch) => over.has(batch.batchJobId));
    for (const batch of open) {
      try {
        const snapshot = await this.gateway.retrieveBatch(batch.openaiBatchId);
        const settled = TERMINAL_BATCH_STATUSES.includes(snapshot.status);
        const givenUp = batch.cancelRequestedAt !== null && Date.now() - batch.cancelRequestedAt.getTime() > CANCEL_GIVE_UP_MS;
        if (settled || givenUp) {
          await this.batches.abandon(batch.id, { status: snapshot.status });
        } else if (snapshot.status !== 'cancelling') {
          await this.monitor.cancelOne(batch);
        }
      } catch (error) {
        this.logger.warn(`batch ${batch.openaiBatchId}: cancellation check failed: ${errorText(error)}`);
      }
    }
  }
}
