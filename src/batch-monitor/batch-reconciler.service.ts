import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { AppConfig } from '../config/app-config.js';
import { TERMINAL_JOB_STATUSES } from '../jobs/job.types.js';
import { OpenAiGateway } from '../openai/openai-gateway.service.js';
import type { BatchSnapshot } from '../openai/openai-gateway.types.js';
import { BatchMonitorService } from './batch-monitor.service.js';
import { OpenAiBatch } from './openai-batch.entity.js';
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
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(OpenAiBatch) private readonly batches: Repository<OpenAiBatch>,
    private readonly gateway: OpenAiGateway,
    private readonly monitor: BatchMonitorService,
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
    const known: { openai_batch_id: string }[] = await this.dataSource.query(
      `SELECT openai_batch_id FROM openai_batches WHERE openai_batch_id = ANY($1)`,
      [candidates.map((snapshot) => snapshot.id)],
    );
    const knownIds = new Set(known.map((row) => row.openai_batch_id));
    let attached = 0;
    for (const snapshot of candidates.filter((candidate) => !knownIds.has(candidate.id))) {
      if (await this.attach(snapshot)) attached++;
    }
    return attached;
  }

  private async attach(snapshot: BatchSnapshot): Promise<boolean> {
    const jobId = snapshot.metadata.job_id;
    const stage = snapshot.metadata.stage as OpenAiBatch['stage'];
    const row = await this.dataSource.transaction(async (manager) => {
      const [job]: { status: string }[] = await manager.query(`SELECT status FROM batch_jobs WHERE id = $1`, [jobId]);
      if (!job) return null; // a deleted job, or another deployment's: not ours to adopt
      const [inserted]: { id: string }[] = await manager.query(
        `INSERT INTO openai_batches (batch_job_id, stage, part, openai_batch_id, input_file_id, output_file_id, error_file_id,
                                     status, request_count, completed_count, failed_count, reconciled_at)
         SELECT $1, $2, COALESCE(max(part), 0) + 1, $3, $4, $5, $6, $7, $8, $9, $10, now()
           FROM openai_batches WHERE batch_job_id = $1 AND stage = $2
         ON CONFLICT (openai_batch_id) DO NOTHING
         RETURNING id`,
        [
          jobId,
          stage,
          snapshot.id,
          snapshot.inputFileId,
          snapshot.outputFileId,
          snapshot.errorFileId,
          snapshot.status,
          snapshot.requestCounts.total,
          snapshot.requestCounts.completed,
          snapshot.requestCounts.failed,
        ],
      );
      if (!inserted) return null;
      const column = stage === 'vision' ? 'openai_batch_id' : 'openai_translation_batch_id';
      await manager.query(`UPDATE batch_jobs SET ${column} = COALESCE(${column}, $2), updated_at = now() WHERE id = $1`, [
        jobId,
        snapshot.id,
      ]);
      return { jobStatus: job.status, id: inserted.id };
    });
    if (!row) return false;
    this.logger.warn(`job_id=${jobId}: re-attached ${stage} batch ${snapshot.id} that was never recorded (reference 001)`);
    const over = (TERMINAL_JOB_STATUSES as readonly string[]).includes(row.jobStatus);
    if (over && !TERMINAL_BATCH_STATUSES.includes(snapshot.status)) {
      const batch = await this.batches.findOneBy({ id: row.id });
      if (batch) await this.monitor.cancelOne(batch);
    }
    return true;
  }

  /** Batches still open at OpenAI whose job is over: refresh, cancel, or give up after a day. */
  private async chaseCancellations(): Promise<void> {
    const open = await this.batches
      .createQueryBuilder('ob')
      .innerJoin('batch_jobs', 'j', 'j.id = ob.batch_job_id')
      .where('j.status IN (:...over)', { over: [...TERMINAL_JOB_STATUSES] })
      .andWhere('ob.status NOT IN (:...done)', { done: [...TERMINAL_BATCH_STATUSES] })
      .andWhere('ob.abandoned_at IS NULL AND ob.ingested_at IS NULL')
      .getMany();
    for (const batch of open) {
      try {
        const snapshot = await this.gateway.retrieveBatch(batch.openaiBatchId);
        const settled = TERMINAL_BATCH_STATUSES.includes(snapshot.status);
        const givenUp = batch.cancelRequestedAt !== null && Date.now() - batch.cancelRequestedAt.getTime() > CANCEL_GIVE_UP_MS;
        if (settled || givenUp) {
          await this.batches.update({ id: batch.id }, { status: snapshot.status, abandonedAt: new Date() });
        } else if (snapshot.status !== 'cancelling') {
          await this.monitor.cancelOne(batch);
        }
      } catch (error) {
        this.logger.warn(`batch ${batch.openaiBatchId}: cancellation check failed: ${errorText(error)}`);
      }
    }
  }
}
