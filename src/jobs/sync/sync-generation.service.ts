import { UsageMetrics } from '../usage/usage-metrics.js';
import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { LotProcessorService, type DirectLotResult } from '../../lot-processing/lot-processor.service.js';
import { ApiException } from '../../common/errors/api-exception.js';
import { ErrorCode } from '../../common/errors/error-code.js';
import { AppConfig } from '../../config/app-config.js';
import { JobStatus } from '../job.types.js';
import { JobRepository } from '../job.repository.js';
import { syncResultView } from '../job-views.js';
import type { GenerationRequest, RequestedLot } from '../validation/generation-request.js';

/** Why a synchronous request stopped before its lot was processed. */
class Interrupted extends Error {
  constructor(
    readonly reason: 'deadline' | 'client_gone',
    message: string,
  ) {
    super(message);
  }
}

type Outcome = DirectLotResult | Interrupted;

/** Resolves with the signal's reason when it aborts (never rejects). */
function whenAborted(signal: AbortSignal): Promise<Interrupted> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason as Interrupted);
    else signal.addEventListener('abort', () => resolve(signal.reason as Interrupted), { once: true });
  });
}

/**
 * Synchronous mode (one lot): image check, vision and translation through
 * the batch side's direct path (which goes through the gateway's limiter),
 * under a hard deadline. Whatever happens, the outcome is stored as a finished
 * job, so it can be polled and listed like any other.
 *
 * Nothing is written before the work is done: a sync job is never `pending`
 * in the database, so the batch worker can never pick it up.
 */
@Injectable()
export class SyncGenerationService {
  private readonly logger = new Logger('SyncGeneration');

  constructor(
    private readonly processor: LotProcessorService,
    private readonly store: JobRepository,
    private readonly config: AppConfig,
    private readonly usageMetrics: UsageMetrics,
  ) {}

  /** `clientGone` aborts when the HTTP client disconnects: no point in paying OpenAI for nobody. */
  async generate(clientId: string, request: GenerationRequest, clientGone: AbortSignal) {
    const jobId = randomUUID();
    const lotRowId = randomUUID();
    const lot = request.lots[0];
    const startedAt = new Date();
    const deadlineMs = this.config.jobs.syncDeadlineMs;
    const deadlineSeconds = Math.round(deadlineMs / 100) / 10;

    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Interrupted('deadline', `The synchronous request did not finish within ${deadlineSeconds} seconds`)),
      deadlineMs,
    );
    const onGone = () => controller.abort(new Interrupted('client_gone', 'The client disconnected before the answer was ready'));
    clientGone.addEventListener('abort', onGone, { once: true });

    let outcome: Outcome;
    try {
      const work = this.processor.processDirect(
        { id: lotRowId, lotId: lot.lotId, additionalInfo: lot.additionalInfo, images: lot.images },
        request.languages,
        controller.signal,
      );
      // Answer at the deadline even if some step does not honour the signal; its late result is dropped.
      outcome = await Promise.race([
        work.catch((error: unknown) => this.interruptedOr(controller.signal, error)),
        whenAborted(controller.signal),
      ]);
    } finally {
      clearTimeout(timer);
      clientGone.removeEventListener('abort', onGone);
    }

    const { job, storedLot } = await this.storeOutcome(clientId, jobId, lotRowId, request, lot, startedAt, outcome);
    this.logger.log(
      `job_id=${jobId} client_id=${clientId} synchronous lot ${lot.lotId}: ${storedLot.status}${storedLot.errorMessage ? ` (${storedLot.errorMessage})` : ''}`,
    );

    if (outcome instanceof Interrupted) {
      throw new ApiException(504, ErrorCode.OpenAiTimeout, outcome.message, { deadline_seconds: deadlineSeconds, job_id: jobId });
    }
    // OpenAI itself failing is not the lot's outcome: 502, and the client may retry.
    // Any other lot error (no usable image, refusal, ...) is answered 200 with the lot failed.
    if (!outcome.ok && outcome.upstreamFailure) {
      throw new ApiException(502, ErrorCode.OpenAiApiError, 'OpenAI API request failed', { openai_error: outcome.error, job_id: jobId });
    }
    return syncResultView(job, storedLot);
  }

  /** An error after the signal fired is the interruption; anything else is a bug and propagates (500). */
  private interruptedOr(signal: AbortSignal, error: unknown): Interrupted {
    if (signal.aborted) return signal.reason as Interrupted;
    throw error;
  }

  private async storeOutcome(
    clientId: string,
    jobId: string,
    lotRowId: string,
    request: GenerationRequest,
    lot: RequestedLot,
    startedAt: Date,
    outcome: Outcome,
  ) {
    const finishedAt = new Date();
    const ok = !(outcome instanceof Interrupted) && outcome.ok;
    const error = outcome instanceof Interrupted ? outcome.message : outcome.ok ? null : outcome.error;
    const direct = outcome instanceof Interrupted ? undefined : outcome;
    const {
      job,
      lot: storedLot,
      billed,
    } = await this.store.insertFinishedJob(
      {
        id: jobId,
        clientId,
        status: ok ? JobStatus.Completed : JobStatus.Failed,
        processingMode: 'synchronous',
        version: request.version,
        languages: request.languages,
        totalLots: 1,
        processedLots: ok ? 1 : 0,
        failedLots: ok ? 0 : 1,
        currentStage: ok ? 'completed' : 'failed',
        errorMessage: error,
        // The answer is the notification: sync mode sends no webhook.
        webhookConfigured: false,
        estimatedCompletion: finishedAt,
        startedAt,
        completedAt: finishedAt,
        usage: direct?.usage ?? {},
      },
      {
        id: lotRowId,
        lotId: lot.lotId,
        additionalInfo: lot.additionalInfo,
        webhookUrl: null,
        images: lot.images,
        status: ok ? JobStatus.Completed : JobStatus.Failed,
        visionResult: direct?.ok ? direct.visionResult : null,
        translations: direct?.ok ? direct.translations : null,
        missingImages: direct?.missingImages ?? [],
        processedImages: direct?.processedImages ?? 0,
        errorMessage: error,
        usage: direct?.usage ?? {},
        budgetRetries: direct?.budgetRetries ?? [],
        processedAt: finishedAt,
      },
      direct?.stageUsage ?? [],
    );
    this.usageMetrics.count(billed);
    return { job, storedLot };
  }
}
