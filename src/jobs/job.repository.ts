import { Injectable } from '@nestjs/common';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, MoreThan, type EntityManager, type Repository } from 'typeorm';
import { BatchJob } from './entities/batch-job.entity.js';
import { AppConfig } from '../config/app-config.js';
import type { Pool } from 'pg';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';
import { OpenAiUsageRepository, usageLinesOf, usageTotalsJsonSql, type UsageTotalsJson } from './usage/openai-usage.repository.js';
import type { UsageLine, UsageStage } from './usage/usage.types.js';
import { BatchLot } from './entities/batch-lot.entity.js';
import { DatabaseOutageMonitor } from '../database/database-outage.js';
import { execute, query, queryOne } from '../database/sql.js';
import { activeTraceParent } from '../common/tracing/tracing.js';
import { ACTIVE_JOB_STATUSES, JobStatus, type TokenUsage } from './job.types.js';
import type { RequestedLot } from './validation/generation-request.js';

/** The columns a new job row needs; the rest take their schema defaults. */
export type NewJob = Pick<
  BatchJob,
  'clientId' | 'status' | 'processingMode' | 'version' | 'languages' | 'totalLots' | 'webhookConfigured' | 'estimatedCompletion'
> &
  Partial<
    Pick<
      BatchJob,
      | 'id'
      | 'processedLots'
      | 'failedLots'
      | 'currentStage'
      | 'errorMessage'
      | 'startedAt'
      | 'completedAt'
      | 'usage'
      | 'metadata'
      | 'webhookEvents'
      | 'reuseResults'
    >
  >;

export interface JobListFilter {
  status?: JobStatus;
  createdAfter?: Date;
  createdBefore?: Date;
  /** Every pair must match (`metadata[key]=value`). */
  metadata?: Record<string, string>;
  limit: number;
  offset: number;
}

/**
 * Lots per INSERT statement. json_to_recordset takes the whole chunk as one
 * bind parameter, so the 65,535-parameter limit never applies; the chunk size
 * bounds the time the event loop spends serialising one chunk in one go
 * (≈ 1 ms for 1,000 lots with 3 images each) and the memory of the parameter.
 * Measured for 50,000 lots: json_to_recordset 1.4–1.7 s, jsonb_to_recordset
 * 1.6–2.3 s, unnest arrays 2.5–3.5 s, multi-row VALUES 3.6–5.6 s.
 */
export const LOT_INSERT_CHUNK = 1_000;

/**
 * The lots are the validated RequestedLot objects serialised as they are (no
 * per-lot row object to build); their order in the chunk gives the position.
 */
const INSERT_LOTS_SQL = `
  INSERT INTO batch_lots (batch_job_id, position, lot_id, additional_info, webhook_url, images)
  SELECT $1, $3 + r.ordinality - 1, r."lotId", r."additionalInfo", r."webhookUrl", r.images
  FROM ROWS FROM (json_to_recordset($2::json) AS ("lotId" text, "additionalInfo" text, "webhookUrl" text, images jsonb))
       WITH ORDINALITY AS r("lotId", "additionalInfo", "webhookUrl", images, ordinality)`;

/** The job columns the API shows, as PostgreSQL returns them. */
interface JobRow {
  id: string;
  client_id: string;
  status: JobStatus;
  processing_mode: BatchJob['processingMode'];
  version: string;
  languages: string[];
  total_lots: number;
  processed_lots: number;
  failed_lots: number;
  current_stage: string;
  openai_batch_id: string | null;
  openai_translation_batch_id: string | null;
  error_message: string | null;
  webhook_configured: boolean;
  paused: boolean;
  metadata: Record<string, string>;
  name: string | null;
  webhook_events: BatchJob['webhookEvents'];
  estimated_completion: Date | null;
  created_at: Date;
  updated_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  cancelled_at: Date | null;
}

/**
 * The columns of JobRow. A change of any of them notifies the API's status cache (the trigger of migration
 * 1763791100000 lists them; test/jobs/status-cache.spec.ts checks the two lists agree).
 */
export const JOB_ROW_COLUMNS: readonly (keyof JobRow)[] = [
  'id',
  'client_id',
  'status',
  'processing_mode',
  'version',
  'languages',
  'total_lots',
  'processed_lots',
  'failed_lots',
  'current_stage',
  'openai_batch_id',
  'openai_translation_batch_id',
  'error_message',
  'webhook_configured',
  'paused',
  'metadata',
  'name',
  'webhook_events',
  'estimated_completion',
  'created_at',
  'updated_at',
  'started_at',
  'completed_at',
  'cancelled_at',
];

const FIND_JOB_SQL = `SELECT ${JOB_ROW_COLUMNS.join(', ')} FROM batch_jobs WHERE id = $1 AND client_id = $2`;

/** FIND_JOB_SQL with the job's usage totals in the same row (see findJobWithUsage). */
const FIND_JOB_WITH_USAGE_SQL = `
  SELECT j.*, ${usageTotalsJsonSql('j.id')} AS usage_totals
    FROM (${FIND_JOB_SQL}) j`;

function toJob(row: JobRow): BatchJob {
  return Object.assign(new BatchJob(), {
    id: row.id,
    clientId: row.client_id,
    status: row.status,
    processingMode: row.processing_mode,
    version: row.version,
    languages: row.languages,
    totalLots: row.total_lots,
    processedLots: row.processed_lots,
    failedLots: row.failed_lots,
    currentStage: row.current_stage,
    openaiBatchId: row.openai_batch_id,
    openaiTranslationBatchId: row.openai_translation_batch_id,
    errorMessage: row.error_message,
    webhookConfigured: row.webhook_configured,
    paused: row.paused,
    metadata: row.metadata,
    name: row.name,
    webhookEvents: row.webhook_events,
    estimatedCompletion: row.estimated_completion,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    completedAt: row.completed_at,
    cancelledAt: row.cancelled_at,
  });
}

/** The lot columns results, downloads and the sync answer read. */
const RESULT_COLUMNS = {
  id: true,
  position: true,
  lotId: true,
  status: true,
  processedAt: true,
  processedImages: true,
  visionResult: true,
  translations: true,
  missingImages: true,
  errorMessage: true,
  reusedFrom: true,
} as const;

/** Jobs and lots as the jobs API reads and writes them. Every read is scoped to a client. (The pipeline's side is JobClaimRepository.) */
@Injectable()
export class JobRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(BatchJob) private readonly jobs: Repository<BatchJob>,
    @InjectRepository(BatchLot) private readonly lots: Repository<BatchLot>,
    private readonly usage: OpenAiUsageRepository,
    private readonly config: AppConfig,
    private readonly outage: DatabaseOutageMonitor,
  ) {}

  /**
   * Stores a batch job and all its lots in one transaction: the worker, which
   * claims `pending` rows, can never see a job whose lots are half written.
   */
  async insertBatchJob(job: NewJob, lots: RequestedLot[]): Promise<BatchJob> {
    const chunkAt = (start: number) => JSON.stringify(lots.slice(start, start + LOT_INSERT_CHUNK));
    // After a turn, so that the statement before it is on its way to PostgreSQL (and polls are answered) meanwhile.
    const nextChunkAt = async (start: number) => (await nextTurn(), start < lots.length ? chunkAt(start) : '');
    return this.dataSource.transaction(async (manager) => {
      const saved = await this.insertJobRow(manager, job);
      let chunk = chunkAt(0);
      for (let start = 0; start < lots.length; start += LOT_INSERT_CHUNK) {
        [, chunk] = await Promise.all([execute(manager, INSERT_LOTS_SQL, [saved.id, chunk, start]), nextChunkAt(start + LOT_INSERT_CHUNK)]);
      }
      return saved;
    });
  }

  /** Stores a finished synchronous job and its one lot, in one transaction. */
  async insertFinishedJob(
    job: NewJob,
    lot: Partial<BatchLot>,
    /** What each stage's direct call billed: recorded in `openai_usage` with the job. */
    stageUsage: { stage: UsageStage; usage: TokenUsage }[] = [],
  ): Promise<{ job: BatchJob; lot: BatchLot; billed: UsageLine[] }> {
    return this.dataSource.transaction(async (manager) => {
      const saved = await this.insertJobRow(manager, job);
      const savedLot = await manager
        .getRepository(BatchLot)
        .save(manager.getRepository(BatchLot).create({ ...lot, batchJobId: saved.id, position: 0 }));
      const billed: UsageLine[] = [];
      for (const { stage, usage } of stageUsage) {
        const model = stage === 'vision' ? this.config.openai.visionModel : this.config.openai.translationModel;
        const line = await this.usage.record(manager, saved.id, stage, { mode: 'direct', model }, [{ id: savedLot.id, usage }]);
        if (line) billed.push(line);
      }
      return { job: saved, lot: savedLot, billed };
    });
  }

  private async insertJobRow(manager: EntityManager, job: NewJob): Promise<BatchJob> {
    const repository = manager.getRepository(BatchJob);
    // The creating request's span, for the pipeline's spans to link to.
    return repository.save(repository.create({ ...job, nextCheckAt: new Date(), traceParent: activeTraceParent() ?? null }));
  }

  /**
   * The job if it exists and belongs to the client; another client's job is
   * indistinguishable from none. Plain SQL: this is the polling hot path
   * (thousands of requests per second), and TypeORM's query building and
   * hydration cost more than the query itself.
   */
  async findJob(clientId: string, jobId: string): Promise<BatchJob | null> {
    const rows = await query<JobRow>(this.dataSource, FIND_JOB_SQL, [jobId, clientId]);
    return rows.length === 0 ? null : toJob(rows[0]);
  }

  /**
   * `findJob` and the job's usage totals in one round trip, straight on the driver's pool: the status cache's
   * miss path, where TypeORM's QueryRunner (acquire, release, result wrapping) cost more than the query.
   */
  async findJobWithUsage(clientId: string, jobId: string): Promise<{ job: BatchJob; usage: UsageLine[] } | null> {
    const pool = (this.dataSource.driver as PostgresDriver).master as Pool;
    const { rows } = await pool
      .query<JobRow & { usage_totals: UsageTotalsJson }>(FIND_JOB_WITH_USAGE_SQL, [jobId, clientId])
      .catch((error: unknown) => {
        this.outage.absorb(error); // as TypeORM's logger does for its queries: an outage is reported once, not per poll
        throw error;
      });
    return rows.length === 0 ? null : { job: toJob(rows[0]), usage: usageLinesOf(rows[0].usage_totals) };
  }

  async listJobs(clientId: string, filter: JobListFilter): Promise<[BatchJob[], number]> {
    const query = this.jobs.createQueryBuilder('job').where('job.clientId = :clientId', { clientId });
    if (filter.status === JobStatus.Paused) query.andWhere('job.paused AND job.status IN (:...active)', { active: ACTIVE_JOB_STATUSES });
    else if (filter.status) {
      query.andWhere('job.status = :status', { status: filter.status });
      if (ACTIVE_JOB_STATUSES.includes(filter.status)) query.andWhere('NOT job.paused');
    }
    if (filter.metadata && Object.keys(filter.metadata).length > 0) {
      query.andWhere('job.metadata @> CAST(:metadata AS jsonb)', { metadata: JSON.stringify(filter.metadata) });
    }
    if (filter.createdAfter) query.andWhere('job.createdAt >= :after', { after: filter.createdAfter });
    if (filter.createdBefore) query.andWhere('job.createdAt < :before', { before: filter.createdBefore });
    return query.orderBy('job.createdAt', 'DESC').addOrderBy('job.id', 'DESC').skip(filter.offset).take(filter.limit).getManyAndCount();
  }

  /**
   * Cancels an active job. The status condition is in the UPDATE itself, so a
   * worker finishing the job at the same moment either wins (nothing is
   * cancelled) or loses (its own conditional update finds the job cancelled).
   * Clearing `claim_token` fences a worker holding the job: its writes are
   * conditional on the token it claimed with.
   * `inTransaction` runs in the same transaction (the cancellation webhooks).
   * Returns the cancellation time, or null when the job was not active.
   */
  async cancelJob(clientId: string, jobId: string, inTransaction?: (manager: EntityManager) => Promise<unknown>): Promise<Date | null> {
    return this.dataSource.transaction(async (manager) => {
      const rows = await query<{ cancelled_at: Date }>(
        manager,
        `UPDATE batch_jobs SET status = $3, current_stage = $3, cancelled_at = now(), updated_at = now(), claim_token = NULL, paused = false
         WHERE id = $1 AND client_id = $2 AND status = ANY($4::text[]) RETURNING cancelled_at`,
        [jobId, clientId, JobStatus.Cancelled, ACTIVE_JOB_STATUSES],
      );
      if (rows.length === 0) return null;
      await manager.query(`UPDATE batch_lots SET status = $2, updated_at = now() WHERE batch_job_id = $1 AND status = ANY($3::text[])`, [
        jobId,
        JobStatus.Cancelled,
        ACTIVE_JOB_STATUSES,
      ]);
      await inTransaction?.(manager);
      return rows[0].cancelled_at;
    });
  }

  /** Keyset page of a job's lots in request order: constant cost per page however deep. */
  async lotPage(jobId: string, afterPosition: number, limit: number): Promise<BatchLot[]> {
    return this.lots.find({
      select: RESULT_COLUMNS,
      where: { batchJobId: jobId, position: MoreThan(afterPosition) },
      order: { position: 'ASC' },
      take: limit,
    });
  }

  async imagesProcessed(jobId: string): Promise<number> {
    const row = await queryOne<{ total: number }>(
      this.dataSource,
      'SELECT COALESCE(SUM(processed_images), 0)::int AS total FROM batch_lots WHERE batch_job_id = $1',
      [jobId],
    );
    return row?.total ?? 0;
  }
}
