import { Injectable, Logger } from '@nestjs/common';
import { ApiException } from '../common/errors/api-exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { AppConfig } from '../config/app-config.js';
import type { Transaction } from '../database/sql.js';
import { JobPipelineService } from '../jobs/job-pipeline.service.js';
import type { OptionalWebhookEvent } from '../jobs/job.types.js';
import type { WebhookDeliveryAttempt } from './webhook-delivery-attempt.entity.js';
import type { DeliveryStatus, WebhookDelivery } from './webhook-delivery.entity.js';
import { WebhookDeliveryRepository } from './webhook-delivery.repository.js';
import { deliveryView, type WebhookDeliveryView } from './webhook-delivery-views.js';
import { eventFor, jobRound } from './webhook-payload.js';
import { envelopeBytes, measureLots, planParts } from './webhook-plan.js';
import { isUuid } from '../common/validation/uuid.js';

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
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly jobs: JobPipelineService,
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
   * timestamp. Pass the transaction so the rows commit atomically with the
   * status change. Returns the number of rows created.
   */
  async enqueueForJob(jobId: string, tx?: Transaction): Promise<number> {
    const job = await this.jobs.findJob(jobId, tx);
    if (!job) throw new Error(`enqueueForJob: job ${jobId} does not exist`);
    const event = eventFor(job.status);
    if (!event) throw new Error(`enqueueForJob: job ${jobId} is ${job.status}, not in a terminal status`);
    const round = jobRound(job);
    // The unique index also guards concurrent callers; this check keeps a second
    // call from adding parts when the size limit changed between calls.
    if (await this.deliveries.exists(tx, { batchJobId: jobId, event, jobRound: round })) return 0;

    const lots = measureLots(await this.jobs.webhookLotSizes(jobId, tx), job);
    if (lots.length === 0) return 0;
    const plan = planParts(lots, envelopeBytes(job, event, await this.jobs.costOf(jobId, tx)), this.config.webhooks.maxBodyBytes);
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
    }));
    const created = await this.deliveries.insertPlanned(tx, rows);
    this.logger.log({
      message: `${created} webhook deliveries queued for ${event} (${new Set(plan.map((p) => p.webhookUrl)).size} URLs)`,
      job_id: jobId,
    });
    return created;
  }

  /**
   * Queues a job-control event (issue 13: paused, resumed, retried) for each
   * distinct webhook URL of the job's lots, if the job asked for that event in
   * `webhook_events`; the payload carries no lots. One round per transition
   * (the job's `updated_at`, written by the transition in the same
   * transaction). Returns the number of rows created.
   */
  async enqueueEvent(jobId: string, event: OptionalWebhookEvent, tx?: Transaction): Promise<number> {
    const job = await this.jobs.findJob(jobId, tx);
    if (!job || !(job.webhookEvents ?? []).includes(event)) return 0;
    const urls = [...new Set((await this.jobs.webhookLotSizes(jobId, tx)).map((lot) => lot.webhook_url))];
    if (urls.length === 0) return 0;
    const round = job.updatedAt.toISOString();
    const created = await this.deliveries.insertPlanned(
      tx,
      urls.map((webhookUrl) => ({
        batchJobId: jobId,
        webhookUrl,
        event,
        jobRound: round,
        part: 1,
        parts: 1,
        lotPositionFrom: null,
        lotPositionTo: null,
        lotCount: 0,
        plannedBytes: envelopeBytes(job, event),
        maxAttempts: this.attemptsPerSchedule,
      })),
    );
    this.logger.log({ message: `${created} webhook deliveries queued for ${event}`, job_id: jobId });
    return created;
  }

  /** Every delivery of the caller's job with its attempts; 404 when the job is not the caller's. */
  async listForJob(jobId: string, clientId: string): Promise<WebhookDeliveryView[]> {
    await this.requireJob(jobId, clientId);
    return this.withAttempts(await this.deliveries.listForJob(jobId));
  }

  /**
   * Puts the job's failed deliveries (or, with `all`, every finished one) back
   * in the queue as new attempts with a fresh retry schedule. Pending ones are
   * already queued and are left alone.
   */
  async redeliver(jobId: string, clientId: string, all: boolean): Promise<RedeliveryResult> {
    await this.requireJob(jobId, clientId);
    const statuses: DeliveryStatus[] = all ? ['failed', 'delivered'] : ['failed'];
    const ids = await this.deliveries.requeue(jobId, statuses, this.attemptsPerSchedule);
    const requeued = await this.deliveries.findByIds(ids);
    this.logger.log({
      message: `${ids.length} webhook deliveries re-queued by the client (all=${all})`,
      job_id: jobId,
      client_id: clientId,
    });
    return { job_id: jobId, all, requeued_count: ids.length, requeued: await this.withAttempts(requeued) };
  }

  private async requireJob(jobId: string, clientId: string): Promise<void> {
    const found = isUuid(jobId) && (await this.jobs.jobBelongsTo(jobId, clientId));
    if (!found) throw new ApiException(404, ErrorCode.JobNotFound, `Job ${jobId} not found`);
  }

  private async withAttempts(deliveries: WebhookDelivery[]): Promise<WebhookDeliveryView[]> {
    if (deliveries.length === 0) return [];
    const attempts = await this.deliveries.attemptsOf(deliveries.map((delivery) => delivery.id));
    const byDelivery = new Map<string, WebhookDeliveryAttempt[]>();
    for (const attempt of attempts) byDelivery.set(attempt.deliveryId, [...(byDelivery.get(attempt.deliveryId) ?? []), attempt]);
    return deliveries.map((delivery) => deliveryView(delivery, byDelivery.get(delivery.id) ?? []));
  }

  /** Deliveries by status (metrics). */
  countByStatus(): Promise<{ status: string; value: number }[]> {
    return this.deliveries.countByStatus();
  }
}
