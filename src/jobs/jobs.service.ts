import { Injectable, Logger } from '@nestjs/common';
import { ApiException } from '../common/errors/api-exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { WorkerSignal } from '../worker/worker-signal.js';
import type { BatchJob } from './entities/batch-job.entity.js';
import { JobStatus } from './job.types.js';
import { JobCancellationHook } from './job-cancellation.hook.js';
import { JobQueriesService } from './job-queries.service.js';
import { JobRepository } from './job.repository.js';
import { UpstreamCanceller } from './upstream-canceller.js';
import type { GenerationRequest } from './validation/generation-request.js';

/**
 * First ETA of a new batch job, before any progress exists to estimate from
 * (the worker refines it as lots complete): half an hour plus a minute per
 * thousand lots, within OpenAI's 24-hour batch window.
 */
export function initialEstimate(createdAt: Date, totalLots: number): Date {
  const minutes = Math.min(24 * 60, 30 + Math.ceil(totalLots / 1000));
  return new Date(createdAt.getTime() + minutes * 60_000);
}

/** 400 of the cancel route: reference 002's body (`error`, `status`, `message`) plus `code`. */
export class JobNotCancellableException extends ApiException {
  constructor(readonly jobStatus: string) {
    super(400, ErrorCode.JobNotCancellable, `Only pending, processing, or translating jobs can be cancelled. Current status: ${jobStatus}`);
  }

  override get body() {
    const { error, message, code } = super.body;
    return { error, status: this.jobStatus, message, code };
  }
}

/**
 * The commands of the jobs API: creation and cancellation. Reads (status,
 * results, the list) are JobQueriesService's, so the polling routes never
 * load what cancelling needs (the OpenAI gateway).
 */
@Injectable()
export class JobsService {
  private readonly logger = new Logger('Jobs');

  constructor(
    private readonly store: JobRepository,
    private readonly queries: JobQueriesService,
    private readonly upstream: UpstreamCanceller,
    private readonly workerSignal: WorkerSignal,
    private readonly cancellationHook: JobCancellationHook,
  ) {}

  /**
   * Stores a batch job with all its lots (one transaction) for the worker to
   * pick up, and wakes a worker in this process; answers at once.
   */
  async createJob(clientId: string, request: GenerationRequest): Promise<BatchJob> {
    const now = new Date();
    const job = await this.store.insertBatchJob(
      {
        clientId,
        status: JobStatus.Pending,
        processingMode: 'batch',
        version: request.version,
        languages: request.languages,
        totalLots: request.lots.length,
        webhookConfigured: request.lots.some((lot) => lot.webhookUrl !== null),
        estimatedCompletion: initialEstimate(now, request.lots.length),
        currentStage: 'queued',
        metadata: request.metadata ?? {},
        webhookEvents: request.webhookEvents ?? [],
        ...(request.reuseResults ? { reuseResults: true } : {}),
      },
      request.lots,
    );
    this.logger.log({
      message: `accepted: ${job.totalLots} lots, languages ${request.languages.join(',')}`,
      job_id: job.id,
      client_id: clientId,
    });
    this.workerSignal.notify();
    return job;
  }

  /**
   * Cancels an active job and its unfinished lots (queueing its cancellation
   * webhooks in the same transaction), then asks OpenAI to cancel
   * the job's batches. The database is the truth: once the conditional
   * UPDATE has committed the job is cancelled whatever OpenAI answers, and
   * the worker never resumes it.
   */
  async cancelJob(clientId: string, jobId: string) {
    const job = await this.queries.getJob(clientId, jobId);
    // The batch_job_cancelled webhooks commit with the cancellation itself.
    const cancelledAt = await this.store.cancelJob(clientId, job.id, (manager) => this.cancellationHook.onCancelled(job.id, manager));
    if (!cancelledAt) {
      const current = await this.queries.getJob(clientId, jobId); // re-read: the worker may have just finished it
      throw new JobNotCancellableException(current.status);
    }
    this.queries.changed(job.id); // the client's next poll here shows it cancelled, whenever the notification arrives
    this.logger.log({ message: 'cancelled by the client', job_id: job.id, client_id: clientId });
    await this.upstream.cancel(job.id);
    return { job_id: job.id, status: JobStatus.Cancelled, cancelled_at: cancelledAt.toISOString(), message: 'Job successfully cancelled' };
  }
}
