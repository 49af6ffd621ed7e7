import { Injectable, Logger } from '@nestjs/common';
import { OpenAiBatchesService } from '../openai-batches/openai-batches.service.js';
import { errorText } from '../common/errors/error-text.js';

/** Longest a cancel request waits for OpenAI before answering; the worker's sweeps finish the rest. */
export const UPSTREAM_CANCEL_WAIT_MS = 10_000;

/**
 * Best-effort cancellation of a job's OpenAI batches after the job was
 * cancelled in the database. Never fails the client's request: an error or a
 * slow OpenAI is logged and left to the batch side's own reconciliation.
 */
@Injectable()
export class UpstreamCanceller {
  private readonly logger = new Logger('Jobs');

  constructor(private readonly batches: OpenAiBatchesService) {}

  async cancel(jobId: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), UPSTREAM_CANCEL_WAIT_MS);
    });
    // The rejection is handled here even when the timeout wins the race.
    const work = Promise.resolve()
      .then(() => this.batches.cancelUpstream(jobId))
      .then(
        () => 'done' as const,
        (error: unknown) => {
          this.logger.warn({ message: `OpenAI batch cancellation failed: ${errorText(error)}`, job_id: jobId });
          return 'failed' as const;
        },
      );
    const outcome = await Promise.race([work, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout')
      this.logger.warn({ message: `OpenAI batch cancellation still running after ${UPSTREAM_CANCEL_WAIT_MS} ms`, job_id: jobId });
  }
}
