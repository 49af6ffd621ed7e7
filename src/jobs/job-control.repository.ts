import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { execute, query, queryOne, type Transaction } from '../database/sql.js';
import { ACTIVE_JOB_STATUSES, JobStatus, type JobMetadata } from './job.types.js';

/** A job row as the control commands see it (locked in their transaction). */
export interface ControlledJob {
  id: string;
  status: JobStatus;
  paused: boolean;
  metadata: JobMetadata;
  languages: string[];
}

/** A lot a retry asked for, as found in the job. */
export interface RetryCandidate {
  lot_id: string;
  status: JobStatus;
  has_vision: boolean;
}

const ACTIVE = [...ACTIVE_JOB_STATUSES];

/**
 * The writes of the job-control routes on `batch_jobs` and `batch_lots`
 * (issue 13): labels, pause and resume, retry of failed lots, deletion, and
 * the retention purge's selection. Each command locks the job row in the
 * caller's transaction, so it never races the pipeline's fenced writes or the
 * cancel route. Every read is scoped to the client.
 */
@Injectable()
export class JobControlRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /** The client's job, locked for the transaction; undefined when it is not the client's (or does not exist). */
  lock(tx: Transaction, clientId: string, jobId: string): Promise<ControlledJob | undefined> {
    return queryOne<ControlledJob>(
      tx,
      `SELECT id, status, paused, metadata, languages FROM batch_jobs WHERE id = $1 AND client_id = $2 FOR UPDATE`,
      [jobId, clientId],
    );
  }

  async setLabels(tx: Transaction, jobId: string, labels: { metadata?: JobMetadata; name?: string | null }): Promise<void> {
    await execute(
      tx,
      `UPDATE batch_jobs SET metadata = COALESCE($2::jsonb, metadata), name = CASE WHEN $3 THEN $4 ELSE name END, updated_at = now()
        WHERE id = $1`,
      [jobId, labels.metadata === undefined ? null : JSON.stringify(labels.metadata), labels.name !== undefined, labels.name ?? null],
    );
  }

  /**
   * Pauses an active job. A worker holding it keeps its claim only until its
   * next fence or outcome write (JobClaimRepository.fence, recordStage), which
   * hand it back; no worker claims a paused job.
   */
  async pause(tx: Transaction, jobId: string): Promise<boolean> {
    const changed = await execute(
      tx,
      `UPDATE batch_jobs SET paused = true, updated_at = now() WHERE id = $1 AND status = ANY($2) AND NOT paused`,
      [jobId, ACTIVE],
    );
    return changed > 0;
  }

  /** Resumes a paused job: due at once unless a claim is still being handed back. */
  async resume(tx: Transaction, jobId: string): Promise<boolean> {
    const changed = await execute(
      tx,
      `UPDATE batch_jobs SET paused = false, updated_at = now(),
              next_check_at = CASE WHEN claim_token IS NULL THEN now() ELSE next_check_at END
        WHERE id = $1 AND status = ANY($2) AND paused`,
      [jobId, ACTIVE],
    );
    return changed > 0;
  }

  /** The job's lots among `lotIds` (null: its failed lots), with whether they have a vision result. */
  retryCandidates(tx: Transaction, jobId: string, lotIds: string[] | null): Promise<RetryCandidate[]> {
    return lotIds === null
      ? query<RetryCandidate>(
          tx,
          `SELECT lot_id, status, vision_result IS NOT NULL AS has_vision FROM batch_lots WHERE batch_job_id = $1 AND status = 'failed'`,
          [jobId],
        )
      : query<RetryCandidate>(
          tx,
          `SELECT lot_id, status, vision_result IS NOT NULL AS has_vision FROM batch_lots WHERE batch_job_id = $1 AND lot_id = ANY($2::text[])`,
          [jobId, lotIds],
        );
  }

  /**
   * Puts failed lots back in the pipeline, in the same job: a lot that has its
   * English description goes back to translation only, any other to the image
   * check. Each lot's `attempts` grows by one. The job becomes active at the
   * first stage any of them needs, due at once, its stage bookkeeping reset;
   * its finished lots and OpenAI batches stay as they are.
   */
  async retry(tx: Transaction, jobId: string, lotIds: string[], languages: { translate: boolean }): Promise<{ fromStart: number }> {
    const rows = await query<{ status: string }>(
      tx,
      `UPDATE batch_lots
          SET status = CASE WHEN vision_result IS NOT NULL AND $3 THEN 'translating' ELSE 'pending' END,
              vision_result = CASE WHEN vision_result IS NOT NULL AND $3 THEN vision_result ELSE NULL END,
              translations = NULL, error_message = NULL, processed_at = NULL, missing_images = '[]'::jsonb, processed_images = 0,
              attempts = attempts + 1, updated_at = now()
        WHERE batch_job_id = $1 AND lot_id = ANY($2::text[]) AND status = 'failed'
      RETURNING status`,
      [jobId, lotIds, languages.translate],
    );
    const fromStart = rows.filter((row) => row.status === 'pending').length;
    const [status, stage] = fromStart > 0 ? [JobStatus.Pending, 'queued'] : [JobStatus.Translating, 'translation_submitting'];
    await execute(
      tx,
      `UPDATE batch_jobs
          SET status = $2, current_stage = $3, paused = false, completed_at = NULL, error_message = NULL,
              processed_lots = (SELECT count(*) FROM batch_lots WHERE batch_job_id = $1 AND status = 'completed'),
              failed_lots = (SELECT count(*) FROM batch_lots WHERE batch_job_id = $1 AND status = 'failed'),
              stage_started_at = NULL, stage_deadline_at = NULL, stage_attempts = 0,
              submit_started_at = NULL, error_count = 0, last_error = NULL, claim_token = NULL, claimed_by = NULL,
              next_check_at = now(), updated_at = now()
        WHERE id = $1`,
      [jobId, status, stage],
    );
    return { fromStart };
  }

  /** Deletes the job row; its lots, OpenAI batch rows and webhook deliveries go with it (ON DELETE CASCADE of their tables). */
  async deleteJob(tx: Transaction, jobId: string): Promise<void> {
    await execute(tx, `DELETE FROM batch_jobs WHERE id = $1`, [jobId]);
  }

  /** Jobs created before `before` that are over (the retention purge), oldest first, with their client. */
  expired(before: Date, limit: number): Promise<{ id: string; client_id: string }[]> {
    return query(
      this.dataSource,
      `SELECT id, client_id FROM batch_jobs WHERE created_at < $1 AND status = ANY($2) ORDER BY created_at LIMIT $3`,
      [before, [JobStatus.Completed, JobStatus.Failed, JobStatus.Cancelled], limit],
    );
  }
}
