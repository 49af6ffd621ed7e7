import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { OpenAiGateway } from '../openai/openai-gateway.service.js';
import type { OpenAiBatch } from './openai-batch.entity.js';
import { OpenAiBatchRepository } from './openai-batch.repository.js';
import { errorText } from '../common/errors/error-text.js';
import { waitMs } from '../common/retry/index.js';
import { TERMINAL_BATCH_STATUSES } from './openai-batch.types.js';

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_BATCH_STATUSES);
/** Pause between two reads of a batch being cancelled (only while a job is deleted). */
const SETTLE_POLL_MS = 250;

/** The OpenAI side of a job's batches that other modules act on (cancel with the job) or count (metrics). */
@Injectable()
export class OpenAiBatchesService {
  private readonly logger = new Logger('BatchMonitor');

  constructor(
    private readonly batches: OpenAiBatchRepository,
    private readonly gateway: OpenAiGateway,
    private readonly config: AppConfig,
  ) {}

  /**
   * Asks OpenAI to cancel every batch of the job that may still run. Best
   * effort: a failure is logged and recorded on the batch row, and the
   * reconciliation sweep tries again for batches of jobs that are over.
   */
  async cancelUpstream(jobId: string): Promise<void> {
    const open = await this.batches.unsettledOfJob(jobId);
    await Promise.all(open.map((batch) => this.cancelOne(batch)));
  }

  /** Cancels one batch and records what OpenAI said; never throws. */
  async cancelOne(batch: OpenAiBatch): Promise<void> {
    try {
      const snapshot = await this.gateway.cancelBatch(batch.openaiBatchId);
      batch.cancelRequestedAt ??= new Date();
      await this.batches.recordCancelRequested(batch.id, { status: snapshot.status, cancelRequestedAt: batch.cancelRequestedAt });
      this.logger.log({
        message: `cancel requested for ${batch.stage} batch ${batch.openaiBatchId} (now ${snapshot.status})`,
        job_id: batch.batchJobId,
        openai_batch_id: batch.openaiBatchId,
      });
    } catch (error) {
      this.logger.warn({
        message: `could not cancel batch ${batch.openaiBatchId}: ${errorText(error)}`,
        job_id: batch.batchJobId,
        openai_batch_id: batch.openaiBatchId,
      });
      // Still "requested": the stage's cancel grace runs from the first try, so a cancel that keeps failing cannot stall the job.
      batch.cancelRequestedAt ??= new Date();
      await this.batches
        .recordCancelRequested(batch.id, { cancelRequestedAt: batch.cancelRequestedAt, lastError: `cancel failed: ${errorText(error)}` })
        .catch(() => undefined);
    }
  }

  /**
   * Leaves nothing of the job at OpenAI (issue 13, DELETE): cancels its batches
   * that may still run, waits up to `settleWithinMs` for them to settle (a cancelled
   * batch writes its partial output and error files when it winds down), then
   * deletes every input, output and error file they name. Best effort per
   * file: failures are logged and counted, never thrown.
   */
  async purgeUpstream(jobId: string, settleWithinMs: number): Promise<{ batches: number; filesDeleted: number; failures: number }> {
    const batches = await this.batches.allOfJob(jobId);
    await Promise.all(batches.filter((batch) => !TERMINAL.has(batch.status)).map((batch) => this.cancelOne(batch)));
    const deadline = Date.now() + settleWithinMs;
    const files = new Set<string>();
    let failures = 0;
    // A batch whose files were deleted after ingestion (OPENAI_DELETE_FILES) was settled then: nothing of it is left.
    for (const batch of batches.filter((candidate) => candidate.filesDeletedAt === null)) {
      for (const id of [batch.inputFileId, batch.outputFileId, batch.errorFileId]) if (id) files.add(id);
      try {
        let snapshot = await this.gateway.retrieveBatch(batch.openaiBatchId);
        while (!TERMINAL.has(snapshot.status) && Date.now() < deadline) {
          await waitMs(SETTLE_POLL_MS);
          snapshot = await this.gateway.retrieveBatch(batch.openaiBatchId);
        }
        for (const id of [snapshot.inputFileId, snapshot.outputFileId, snapshot.errorFileId]) if (id) files.add(id);
      } catch (error) {
        failures++;
        this.logger.warn({
          message: `could not read batch ${batch.openaiBatchId} before deleting its files: ${errorText(error)}`,
          job_id: jobId,
        });
      }
    }
    let filesDeleted = 0;
    for (const fileId of files) {
      try {
        await this.gateway.deleteFile(fileId);
        filesDeleted++;
      } catch (error) {
        failures++;
        this.logger.warn({ message: `could not delete file ${fileId} at OpenAI: ${errorText(error)}`, job_id: jobId });
      }
    }
    return { batches: batches.length, filesDeleted, failures };
  }

  /**
   * Deletes at OpenAI the input, output and error files of the job's batches
   * that are ingested or settled (OPENAI_DELETE_FILES, on by default). Best
   * effort and resumable: a batch is marked once all its files are gone; a
   * failure is logged and the next call (next ingestion, job end) tries again.
   */
  async deleteFiles(jobId: string): Promise<number> {
    if (!this.config.openai.deleteFiles) return 0;
    let deleted = 0;
    for (const batch of await this.batches.withFilesToDelete(jobId)) {
      const files = [batch.input_file_id, batch.output_file_id, batch.error_file_id].filter((id): id is string => id !== null);
      try {
        for (const fileId of files) await this.gateway.deleteFile(fileId);
        await this.batches.markFilesDeleted(batch.id);
        deleted += files.length;
      } catch (error) {
        this.logger.warn({ message: `could not delete the files of batch row ${batch.id} at OpenAI: ${errorText(error)}`, job_id: jobId });
      }
    }
    return deleted;
  }

  /**
   * An OpenAI webhook, verified (null: bad signature), with the job of the
   * batch it is about (null when it is not a batch event or not our batch).
   */
  async readWebhook(
    payload: string,
    headers: Record<string, string | string[] | undefined>,
    secret: string,
  ): Promise<{ type: string; openaiBatchId: string | null; jobId: string | null } | null> {
    const event = await this.gateway.unwrapWebhook(payload, headers, secret);
    if (!event) return null;
    const openaiBatchId = event.type.startsWith('batch.') ? event.objectId : null;
    return { type: event.type, openaiBatchId, jobId: openaiBatchId ? await this.batches.jobOfOpenAiBatch(openaiBatchId) : null };
  }

  /** Batches not yet ingested, by stage (metrics). */
  countOpenByStage(): Promise<{ stage: string; value: number }[]> {
    return this.batches.countOpenByStage();
  }
}
