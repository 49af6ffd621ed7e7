import { Injectable, Logger } from '@nestjs/common';
import type { Transaction } from '../database/sql.js';
import { UnitOfWork } from '../database/unit-of-work.js';
import { JobPipelineService } from '../jobs/job-pipeline.service.js';
import { TERMINAL_JOB_STATUSES } from '../jobs/job.types.js';
import { OpenAiGateway } from '../openai/openai-gateway.service.js';
import type { BatchResultLine } from '../openai/openai-gateway.types.js';
import { TranslationService, targetLanguages } from '../translation/translation.service.js';
import { VisionService } from '../vision/vision.service.js';
import {
  emptySummary,
  mergeSummaries,
  translationOutcome,
  visionOutcome,
  withBudgetRetry,
  type LotOutcome,
  type WriteSummary,
} from './lot-outcome.js';
import { OpenAiBatchRepository, type LockedBatchRow } from '../openai-batches/openai-batch.repository.js';
import { TRANSLATION, VISION } from './pipeline-stage.js';

/** Lines applied per bulk UPDATE: big enough to be fast, small enough to keep memory flat. */
export const INGESTION_CHUNK = 1000;

export interface IngestionSummary extends WriteSummary {
  openaiBatchId: string;
  /** Result lines read from the output and error files. */
  lines: number;
}

/** The batch row being ingested, with its job's status and languages. */
export interface LockedBatch extends LockedBatchRow {
  job_status: string;
  languages: string[];
}

/**
 * Ingests a finished batch's output and error files exactly once: the batch
 * row is locked (`FOR UPDATE SKIP LOCKED`: a replica already ingesting it
 * makes the others skip), the files are streamed line by line and applied in
 * chunks matched by custom_id, and `ingested_at` is set in the same
 * transaction as the lot updates. A crash rolls everything back and the next
 * attempt starts from a clean slate.
 */
@Injectable()
export class BatchIngestionService {
  private readonly logger = new Logger('BatchIngestion');

  constructor(
    private readonly unitOfWork: UnitOfWork,
    private readonly jobs: JobPipelineService,
    private readonly batches: OpenAiBatchRepository,
    private readonly gateway: OpenAiGateway,
    private readonly vision: VisionService,
    private readonly translation: TranslationService,
  ) {}

  /**
   * Downloads and applies the files of the `openai_batches` row `batchRowId`.
   * Null when another worker is ingesting it, the job is over, or it was
   * ingested already.
   */
  ingest(batchRowId: string, signal?: AbortSignal): Promise<IngestionSummary | null> {
    return this.ingestLines(
      batchRowId,
      (batch) => {
        const files = [batch.output_file_id, batch.error_file_id].filter((id): id is string => id !== null);
        return files.map((fileId) => this.gateway.readResults(fileId, signal));
      },
      signal,
    );
  }

  /**
   * The same, with the result lines supplied by the caller (the benchmark
   * times this with a generated 50,000-line file).
   */
  async ingestLines(
    batchRowId: string,
    sources: (batch: LockedBatch) => AsyncIterable<BatchResultLine>[],
    /** Aborted (lost claim, shutdown grace over): the transaction rolls back and the next holder starts clean. */
    signal?: AbortSignal,
  ): Promise<IngestionSummary | null> {
    const summary = await this.unitOfWork.run(async (tx) => {
      const row = await this.batches.lockForIngestion(tx, batchRowId);
      if (!row || row.ingested_at) return null;
      // The API's cancel waits for this transaction rather than racing it.
      const job = await this.jobs.lockShared(tx, row.batch_job_id);
      if (!job || (TERMINAL_JOB_STATUSES as readonly string[]).includes(job.status)) return null;
      const batch: LockedBatch = { ...row, job_status: job.status, languages: job.languages };

      const summary: IngestionSummary = { ...emptySummary(), openaiBatchId: batch.openai_batch_id, lines: 0 };
      for (const source of sources(batch)) {
        mergeSummaries(summary, await this.applyStream(tx, batch, source, (lines) => (summary.lines += lines), signal));
      }
      await this.batches.markIngested(tx, batch.id);
      await this.jobs.addUsage(tx, batch.batch_job_id, summary.usage);
      this.logger.log({
        message:
          `ingested ${batch.stage} batch ${batch.openai_batch_id}: ${summary.lines} lines, ` +
          `${summary.succeeded} ok, ${summary.failed} failed, ${summary.retried} to retry, ${summary.ignored} ignored`,
        job_id: batch.batch_job_id,
        openai_batch_id: batch.openai_batch_id,
      });
      return summary;
    });
    if (summary) this.jobs.countBilled(summary.billed);
    return summary;
  }

  private async applyStream(
    tx: Transaction,
    batch: LockedBatch,
    lines: AsyncIterable<BatchResultLine>,
    countLines: (n: number) => void,
    signal?: AbortSignal,
  ): Promise<WriteSummary> {
    const stage = batch.stage === 'vision' ? VISION : TRANSLATION;
    const targets = targetLanguages(batch.languages);
    const toOutcome = (line: BatchResultLine): LotOutcome => {
      // An answer cut at max_output_tokens: one direct retry with a larger budget (the writer allows one per lot and stage).
      if (stage === VISION) {
        return withBudgetRetry(visionOutcome(line.customId, this.vision.read(line.result)), this.vision.budgetRetryFor(line.result));
      }
      const outcome = translationOutcome(line.customId, this.translation.read(line.result, targets));
      return withBudgetRetry(outcome, this.translation.budgetRetryFor(line.result));
    };
    const summary = emptySummary();
    let chunk: LotOutcome[] = [];
    const flush = async () => {
      if (signal?.aborted) throw signal.reason;
      if (chunk.length === 0) return;
      countLines(chunk.length);
      const outcomes = chunk;
      chunk = [];
      mergeSummaries(
        summary,
        await this.jobs.recordLotResults(
          tx,
          {
            jobId: batch.batch_job_id,
            stage: stage.stage,
            lotStatus: stage.lotStatus,
            needsTranslation: targets.length > 0,
            billing: { mode: 'batch', batchId: batch.openai_batch_id },
          },
          outcomes,
        ),
      );
    };
    for await (const line of lines) {
      chunk.push(toOutcome(line));
      if (chunk.length >= INGESTION_CHUNK) await flush();
    }
    await flush();
    return summary;
  }
}
