import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, type EntityManager } from 'typeorm';
import { ApiException } from '../common/errors/api-exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { AppConfig } from '../config/app-config.js';
import { BatchJob } from '../jobs/entities/batch-job.entity.js';
import { WebhookDeliveryAttempt } from './webhook-delivery-attempt.entity.js';
import { WebhookDelivery, type DeliveryStatus } from './webhook-delivery.entity.js';
import { deliveryView, type WebhookDeliveryView } from './webhook-delivery-views.js';
import { eventFor, jobRound } from './webhook-payload.js';
import { envelopeBytes, measureLots, planParts } from './webhook-plan.js';
import { isUuid } from '../common/validation/uuid.js';

/** Rows per INSERT: 11 parameters each stays far below PostgreSQL's 65,535. */
const INSERT_CHUNK = 1000;

export interface RedeliveryResult {
  job_id: string;
  all: boolean;
  requeued_count: number;
  requeued: WebhookDeliveryView[];
}

/**
 * Decides which webhook deliveries a finished job needs (one per distinct URL
 * and part) and lets operators inspect and replay them. Sending is the
 * worker's job (WebhookSenderService).
 */
@Injectable()
export class WebhooksService {
  private readonly logger = new Logger('Webhooks');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  /** Attempts per schedule: 002's WEBHOOK_MAX_RETRIES=5 means five attempts in all (its table), never fewer than one. */
  get attemptsPerSchedule(): number {
    return Math.max(1, this.config.webhooks.maxRetries);
  }

  /**
   * Creates the delivery rows for the job's terminal event: one per distinct
   * webhook URL among its lots, split into numbered parts when the body would
   * exceed WEBHOOK_MAX_BODY_BYTES. Idempotent per job, event and terminal
   * timestamp. Pass the transaction's manager so the rows commit atomically
   * with the status change. Returns the number of rows created.
   */
  async enqueueForJob(jobId: string, manager: EntityManager = this.dataSource.manager): Promise<number> {
    const job = await manager.getRepository(BatchJob).findOneBy({ id: jobId });
    if (!job) throw new Error(`enqueueForJob: job ${jobId} does not exist`);
    const event = eventFor(job.status);
    if (!event) throw new Error(`enqueueForJob: job ${jobId} is ${job.status}, not in a terminal status`);
    const round = jobRound(job);
    const deliveries = manager.getRepository(WebhookDelivery);
    // The unique index also guards concurrent callers; this check keeps a second
    // call from adding parts when the size limit changed between calls.
    if (await deliveries.exists({ where: { batchJobId: jobId, event, jobRound: round } })) return 0;

    const lots = await measureLots(manager, job);
    if (lots.length === 0) return 0;
    const plan = planParts(lots, envelopeBytes(job, event), this.config.webhooks.maxBodyBytes);
    const rows = plan.map((part) => ({
      batchJobId: jobId,
      webhookUrl: part.webhookUrl,
      event,
      jobRound: round,
      part: part.part,
      parts: part.parts,
      lotPositionFrom: part.positionFrom,
      lotPositionTo: part.positionTo,
      lotCount: part.lotCount,
      plannedBytes: part.bytes,
      maxAttempts: this.attemptsPerSchedule,
      nextAttemptAt: () => 'now()',
    }));
    let created = 0;
    for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
      const result = await manager
        .createQueryBuilder()
        .insert()
        .into(WebhookDelivery)
        .values(rows.slice(start, start + INSERT_CHUNK))
        .orIgnore()
        .returning(['id'])
        .execute();
      created += (result.raw as unknown[]).length;
    }
    this.logger.log(
      `job_id=${jobId}: ${created} webhook deliveries queued for ${event} (${new Set(plan.map((p) => p.webhookUrl)).size} URLs)`,
    );
    return created;
  }

  /** Every delivery of the caller's job with its attempts; 404 when the job is not the caller's. */
  async listForJob(jobId: string, clientId: string): Promise<WebhookDeliveryView[]> {
    await this.requireJob(jobId, clientId);
    const deliveries = await this.dataSource.getRepository(WebhookDelivery).find({
      where: { batchJobId: jobId },
      order: { createdAt: 'ASC', webhookUrl: 'ASC', part: 'ASC' },
    });
    return this.withAttempts(deliveries);
  }

  /**
   * Puts the job's failed deliveries (or, with `all`, every finished one) back
   * in the queue as new attempts with a fresh retry schedule. Pending ones are
   * already queued and are left alone.
   */
  async redeliver(jobId: string, clientId: string, all: boolean): Promise<RedeliveryResult> {
    await this.requireJob(jobId, clientId);
    const statuses: DeliveryStatus[] = all ? ['failed', 'delivered'] : ['failed'];
    const result = await this.dataSource
      .createQueryBuilder()
      .update(WebhookDelivery)
      .set({
        status: 'pending',
        nextAttemptAt: () => 'now()',
        deliveredAt: null,
        roundStartAttempt: () => 'attempt_count',
        maxAttempts: () => `attempt_count + ${this.attemptsPerSchedule}`,
      })
      .where('batch_job_id = :jobId', { jobId })
      .andWhere('status IN (:...statuses)', { statuses })
      .returning(['id'])
      .execute();
    const ids = (result.raw as { id: string }[]).map((row) => row.id);
    const requeued =
      ids.length === 0
        ? []
        : await this.dataSource.getRepository(WebhookDelivery).find({
            where: { id: In(ids) },
            order: { createdAt: 'ASC', webhookUrl: 'ASC', part: 'ASC' },
          });
    this.logger.log(`job_id=${jobId}: ${ids.length} webhook deliveries re-queued by the client (all=${all})`);
    return { job_id: jobId, all, requeued_count: ids.length, requeued: await this.withAttempts(requeued) };
  }

  private async requireJob(jobId: string, clientId: string): Promise<void> {
    const found = isUuid(jobId) && (await this.dataSource.getRepository(BatchJob).exists({ where: { id: jobId, clientId } }));
    if (!found) throw new ApiException(404, ErrorCode.JobNotFound, `Job ${jobId} not found`);
  }

  private async withAttempts(deliveries: WebhookDelivery[]): Promise<WebhookDeliveryView[]> {
    if (deliveries.length === 0) return [];
    const attempts = await this.dataSource.getRepository(WebhookDeliveryAttempt).find({
      where: { deliveryId: In(deliveries.map((delivery) => delivery.id)) },
      order: { attempt: 'ASC' },
    });
    const byDelivery = new Map<string, WebhookDeliveryAttempt[]>();
    for (const attempt of attempts) byDelivery.set(attempt.deliveryId, [...(byDelivery.get(attempt.deliveryId) ?? []), attempt]);
    return deliveries.map((delivery) => deliveryView(delivery, byDelivery.get(delivery.id) ?? []));
  }
}
