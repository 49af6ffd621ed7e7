import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, In, IsNull, Not, Repository } from 'typeorm';
import { execute, query, queryOne, type Transaction } from '../database/sql.js';
import { OpenAiBatch } from './openai-batch.entity.js';
import type { BatchStage } from './openai-batch.types.js';

/** The row type other modules use (the entity itself stays inside this module). */
export type { OpenAiBatch };
import { TERMINAL_BATCH_STATUSES } from './openai-batch.types.js';

/** What OpenAI said when it created a batch of a submission. */
export interface CreatedBatch {
  jobId: string;
  stage: BatchStage;
  part: number;
  openaiBatchId: string;
  inputFileId: string | null;
  requestCount: number;
}

/** A batch found at OpenAI (by its metadata) that no row records (reference 001). */
export interface OrphanBatch {
  jobId: string;
  stage: BatchStage;
  openaiBatchId: string;
  inputFileId: string | null;
  outputFileId: string | null;
  errorFileId: string | null;
  status: string;
  requestCount: number;
  completedCount: number;
  failedCount: number;
}

/** An `openai_batches` row locked for ingestion. */
export interface LockedBatchRow {
  id: string;
  batch_job_id: string;
  stage: BatchStage;
  openai_batch_id: string;
  output_file_id: string | null;
  error_file_id: string | null;
  ingested_at: Date | null;
}

/** The columns refreshed from an OpenAI snapshot. */
export type BatchRefresh = Pick<
  OpenAiBatch,
  'status' | 'outputFileId' | 'errorFileId' | 'completedCount' | 'failedCount' | 'requestCount' | 'lastError'
>;

/**
 * The one owner of `openai_batches`: every OpenAI batch the pipeline created
 * or re-attached, its last known state, cancellation and ingestion marks.
 */
@Injectable()
export class OpenAiBatchRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(OpenAiBatch) private readonly batches: Repository<OpenAiBatch>,
  ) {}

  /**
   * Records a batch the moment OpenAI created it, in the caller's transaction.
   * The sweep may have attached it already (a replica listed batches between create and here): then nothing changes.
   */
  async recordCreated(tx: Transaction, batch: CreatedBatch): Promise<void> {
    await execute(
      tx,
      `INSERT INTO openai_batches (batch_job_id, stage, part, openai_batch_id, input_file_id, status, request_count)
       VALUES ($1, $2, $3, $4, $5, 'validating', $6)
       ON CONFLICT (openai_batch_id) DO NOTHING`,
      [batch.jobId, batch.stage, batch.part, batch.openaiBatchId, batch.inputFileId, batch.requestCount],
    );
  }

  /** Records an orphan as the next part of its job's stage; the new row's id, or null when it was known already. */
  async attachOrphan(tx: Transaction, orphan: OrphanBatch): Promise<string | null> {
    const inserted = await queryOne<{ id: string }>(
      tx,
      `INSERT INTO openai_batches (batch_job_id, stage, part, openai_batch_id, input_file_id, output_file_id, error_file_id,
                                   status, request_count, completed_count, failed_count, reconciled_at)
       SELECT $1, $2, COALESCE(max(part), 0) + 1, $3, $4, $5, $6, $7, $8, $9, $10, now()
         FROM openai_batches WHERE batch_job_id = $1 AND stage = $2
       ON CONFLICT (openai_batch_id) DO NOTHING
       RETURNING id`,
      [
        orphan.jobId,
        orphan.stage,
        orphan.openaiBatchId,
        orphan.inputFileId,
        orphan.outputFileId,
        orphan.errorFileId,
        orphan.status,
        orphan.requestCount,
        orphan.completedCount,
        orphan.failedCount,
      ],
    );
    return inserted?.id ?? null;
  }

  /** Which of these OpenAI batch ids have a row. */
  async knownIds(openaiBatchIds: string[]): Promise<Set<string>> {
    const rows = await query<{ openai_batch_id: string }>(
      this.dataSource,
      `SELECT openai_batch_id FROM openai_batches WHERE openai_batch_id = ANY($1)`,
      [openaiBatchIds],
    );
    return new Set(rows.map((row) => row.openai_batch_id));
  }

  findById(id: string): Promise<OpenAiBatch | null> {
    return this.batches.findOneBy({ id });
  }

  /** Whether the job's stage has a batch neither ingested nor abandoned. */
  async hasOpen(jobId: string, stage: BatchStage): Promise<boolean> {
    const rows = await query(
      this.dataSource,
      `SELECT 1 FROM openai_batches WHERE batch_job_id = $1 AND stage = $2 AND ingested_at IS NULL AND abandoned_at IS NULL LIMIT 1`,
      [jobId, stage],
    );
    return rows.length > 0;
  }

  /** The highest part number of the job's stage so far (0: none). */
  async maxPart(jobId: string, stage: BatchStage): Promise<number> {
    const row = await queryOne<{ max: number | null }>(
      this.dataSource,
      `SELECT max(part) AS max FROM openai_batches WHERE batch_job_id = $1 AND stage = $2`,
      [jobId, stage],
    );
    return row?.max ?? 0;
  }

  /** The stage's batches still to follow, in part order. */
  open(jobId: string, stage: BatchStage): Promise<OpenAiBatch[]> {
    return this.batches.find({
      where: { batchJobId: jobId, stage, ingestedAt: IsNull(), abandonedAt: IsNull() },
      order: { part: 'ASC' },
    });
  }

  /** The latest submission of the stage (highest part). */
  latest(jobId: string, stage: BatchStage): Promise<OpenAiBatch | null> {
    return this.batches.findOne({ where: { batchJobId: jobId, stage }, order: { part: 'DESC' } });
  }

  /** The job's batches that may still run at OpenAI (not settled, not abandoned). */
  unsettledOfJob(jobId: string): Promise<OpenAiBatch[]> {
    return this.batches.find({
      where: { batchJobId: jobId, status: Not(In([...TERMINAL_BATCH_STATUSES])), abandonedAt: IsNull() },
    });
  }

  /** Every batch of the job, whatever its state (deleting the job). */
  allOfJob(jobId: string): Promise<OpenAiBatch[]> {
    return this.batches.find({ where: { batchJobId: jobId } });
  }

  /**
   * The job's batches whose files may go (issue 13): ingested, or settled at
   * OpenAI, and not yet cleaned. A batch still running keeps its input file.
   */
  withFilesToDelete(
    jobId: string,
  ): Promise<{ id: string; input_file_id: string | null; output_file_id: string | null; error_file_id: string | null }[]> {
    return query(
      this.dataSource,
      `SELECT id, input_file_id, output_file_id, error_file_id FROM openai_batches
        WHERE batch_job_id = $1 AND files_deleted_at IS NULL AND (ingested_at IS NOT NULL OR status = ANY($2))`,
      [jobId, [...TERMINAL_BATCH_STATUSES]],
    );
  }

  /** The job of an OpenAI batch id (null: not one of ours). */
  async jobOfOpenAiBatch(openaiBatchId: string): Promise<string | null> {
    const row = await queryOne<{ batch_job_id: string }>(
      this.dataSource,
      `SELECT batch_job_id FROM openai_batches WHERE openai_batch_id = $1`,
      [openaiBatchId],
    );
    return row?.batch_job_id ?? null;
  }

  async markFilesDeleted(id: string): Promise<void> {
    await execute(this.dataSource, `UPDATE openai_batches SET files_deleted_at = now(), updated_at = now() WHERE id = $1`, [id]);
  }

  /** Every batch still open at OpenAI as far as we know (not settled, abandoned or ingested). */
  unsettled(): Promise<OpenAiBatch[]> {
    return this.batches.find({
      where: { status: Not(In([...TERMINAL_BATCH_STATUSES])), abandonedAt: IsNull(), ingestedAt: IsNull() },
    });
  }

  async refresh(id: string, patch: BatchRefresh): Promise<void> {
    await this.batches.update({ id }, patch);
  }

  /** We stop waiting for it: its lots are finished another way. */
  async abandon(id: string, patch: { lastError?: string; status?: string } = {}): Promise<void> {
    await this.batches.update({ id }, { ...patch, abandonedAt: new Date() });
  }

  async recordCancelRequested(id: string, patch: { status?: string; cancelRequestedAt: Date; lastError?: string }): Promise<void> {
    await this.batches.update({ id }, patch);
  }

  /**
   * Locks the row for ingestion (`FOR UPDATE SKIP LOCKED`: a replica already
   * ingesting it makes this return undefined), in the caller's transaction.
   */
  lockForIngestion(tx: Transaction, id: string): Promise<LockedBatchRow | undefined> {
    return queryOne<LockedBatchRow>(
      tx,
      `SELECT id, batch_job_id, stage, openai_batch_id, output_file_id, error_file_id, ingested_at
         FROM openai_batches WHERE id = $1
          FOR UPDATE SKIP LOCKED`,
      [id],
    );
  }

  async markIngested(tx: Transaction, id: string): Promise<void> {
    await execute(tx, `UPDATE openai_batches SET ingested_at = now(), updated_at = now() WHERE id = $1`, [id]);
  }

  /** Batches not yet ingested, by stage (metrics). */
  countOpenByStage(): Promise<{ stage: string; value: number }[]> {
    return query(this.dataSource, `SELECT stage, count(*)::int AS value FROM openai_batches WHERE ingested_at IS NULL GROUP BY stage`);
  }
}
