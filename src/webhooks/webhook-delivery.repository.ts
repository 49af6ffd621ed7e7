import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, type EntityManager } from 'typeorm';
import { execute, query, type Transaction } from '../database/sql.js';
import { WebhookDeliveryAttempt } from './webhook-delivery-attempt.entity.js';
import { WebhookDelivery, type DeliveryStatus, type WebhookEvent } from './webhook-delivery.entity.js';

/** Rows per INSERT: 11 parameters each stays far below PostgreSQL's 65,535. */
const INSERT_CHUNK = 1000;
const LOST_ATTEMPT = 'No outcome recorded: the worker stopped or lost its lease mid-send; attempted again';

/** A delivery row to create (the rest takes its schema defaults). */
export type NewDelivery = Pick<
  WebhookDelivery,
  | 'batchJobId'
  | 'webhookUrl'
  | 'event'
  | 'jobRound'
  | 'part'
  | 'parts'
  | 'lotPositionFrom'
  | 'lotPositionTo'
  | 'lotCount'
  | 'plannedBytes'
  | 'maxAttempts'
>;

/** What an attempt ended with, written on the delivery and on its attempt row. */
export interface AttemptRecord {
  status: DeliveryStatus;
  /** Seconds until the next attempt (status `pending`), else null. */
  retryInSeconds: number | null;
  delivered: boolean;
  outcome: WebhookDeliveryAttempt['outcome'];
  durationMs: number;
  responseStatus: number | null;
  responseExcerpt: string | null;
  errorMessage: string | null;
}

/**
 * The one owner of `webhook_deliveries` and `webhook_delivery_attempts`:
 * planning inserts, the sender's claims (FOR UPDATE SKIP LOCKED, leased by
 * `next_attempt_at`), outcomes fenced by the attempt number, and the reads of
 * the operator routes.
 */
@Injectable()
export class WebhookDeliveryRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private manager(tx?: Transaction): EntityManager {
    return tx ?? this.dataSource.manager;
  }

  exists(tx: Transaction | undefined, where: { batchJobId: string; event: WebhookEvent; jobRound: string }): Promise<boolean> {
    return this.manager(tx).getRepository(WebhookDelivery).exists({ where });
  }

  /** Inserts the rows (a row already there for its job, event, round, URL and part is skipped); returns how many were created. */
  async insertPlanned(tx: Transaction | undefined, rows: NewDelivery[]): Promise<number> {
    let created = 0;
    for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
      const chunk = rows.slice(start, start + INSERT_CHUNK).map((row) => ({ ...row, nextAttemptAt: () => 'now()' }));
      const result = await this.manager(tx)
        .createQueryBuilder()
        .insert()
        .into(WebhookDelivery)
        .values(chunk)
        .orIgnore()
        .returning(['id'])
        .execute();
      created += (result.raw as unknown[]).length;
    }
    return created;
  }

  listForJob(jobId: string): Promise<WebhookDelivery[]> {
    return this.dataSource.getRepository(WebhookDelivery).find({
      where: { batchJobId: jobId },
      order: { createdAt: 'ASC', webhookUrl: 'ASC', part: 'ASC' },
    });
  }

  findByIds(ids: string[]): Promise<WebhookDelivery[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.dataSource.getRepository(WebhookDelivery).find({
      where: { id: In(ids) },
      order: { createdAt: 'ASC', webhookUrl: 'ASC', part: 'ASC' },
    });
  }

  attemptsOf(deliveryIds: string[]): Promise<WebhookDeliveryAttempt[]> {
    return this.dataSource.getRepository(WebhookDeliveryAttempt).find({
      where: { deliveryId: In(deliveryIds) },
      order: { attempt: 'ASC' },
    });
  }

  /** Puts the job's deliveries in `statuses` back in the queue with a fresh schedule of `attempts`; returns their ids. */
  async requeue(jobId: string, statuses: DeliveryStatus[], attempts: number): Promise<string[]> {
    const result = await this.dataSource
      .createQueryBuilder()
      .update(WebhookDelivery)
      .set({
        status: 'pending',
        nextAttemptAt: () => 'now()',
        deliveredAt: null,
        roundStartAttempt: () => 'attempt_count',
        maxAttempts: () => `attempt_count + ${attempts}`,
      })
      .where('batch_job_id = :jobId', { jobId })
      .andWhere('status IN (:...statuses)', { statuses })
      .returning(['id'])
      .execute();
    return (result.raw as { id: string }[]).map((row) => row.id);
  }

  /**
   * Claims due deliveries: counts the attempt, leases the row for `leaseSeconds`
   * and opens its attempt row (an earlier attempt left in flight is marked lost).
   */
  claimDue(limit: number, leaseSeconds: number, workerId: string): Promise<(WebhookDelivery & { attempt: number })[]> {
    return this.dataSource.transaction(async (manager) => {
      const due = await manager
        .getRepository(WebhookDelivery)
        .createQueryBuilder('d')
        .where(`d.status = 'pending'`)
        .andWhere('d.next_attempt_at <= now()')
        .orderBy('d.next_attempt_at', 'ASC')
        .limit(limit)
        .setLock('pessimistic_write')
        .setOnLocked('skip_locked')
        .getMany();
      if (due.length === 0) return [];
      const ids = due.map((delivery) => delivery.id);
      await manager
        .createQueryBuilder()
        .update(WebhookDeliveryAttempt)
        .set({ outcome: 'lost', finishedAt: () => 'now()', errorMessage: LOST_ATTEMPT })
        .where('delivery_id IN (:...ids)', { ids })
        .andWhere(`outcome = 'in_flight'`)
        .execute();
      await manager
        .createQueryBuilder()
        .update(WebhookDelivery)
        .set({
          attemptCount: () => 'attempt_count + 1',
          lastAttemptAt: () => 'now()',
          nextAttemptAt: () => 'now() + make_interval(secs => :lease)',
        })
        .setParameter('lease', leaseSeconds)
        .where('id IN (:...ids)', { ids })
        .execute();
      await manager.insert(
        WebhookDeliveryAttempt,
        due.map((delivery) => ({ deliveryId: delivery.id, attempt: delivery.attemptCount + 1, outcome: 'in_flight' as const, workerId })),
      );
      return due.map((delivery) => Object.assign(delivery, { attempt: delivery.attemptCount + 1 }));
    });
  }

  /** An attempt aborted by shutdown: due again at once, not counted against the delivery's attempts. */
  async handBack(deliveryId: string, attempt: number): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await execute(
        manager,
        `UPDATE webhook_deliveries SET next_attempt_at = now(), attempt_count = attempt_count - 1
          WHERE id = $1 AND attempt_count = $2 AND status = 'pending'`,
        [deliveryId, attempt],
      );
      await execute(manager, `DELETE FROM webhook_delivery_attempts WHERE delivery_id = $1 AND attempt = $2 AND outcome = 'in_flight'`, [
        deliveryId,
        attempt,
      ]);
    });
  }

  /** Writes an attempt's outcome, fenced by its attempt number; false when the lease was lost first. */
  recordAttempt(deliveryId: string, attempt: number, record: AttemptRecord): Promise<boolean> {
    const { responseStatus, responseExcerpt, errorMessage } = record;
    return this.dataSource.transaction(async (manager) => {
      const update = manager
        .createQueryBuilder()
        .update(WebhookDelivery)
        .set({
          status: record.status,
          nextAttemptAt: record.retryInSeconds !== null ? () => 'now() + make_interval(secs => :delay)' : null,
          deliveredAt: record.delivered ? () => 'now()' : null,
          responseStatus,
          responseExcerpt,
          errorMessage,
        })
        .where('id = :id', { id: deliveryId })
        .andWhere('attempt_count = :attempt', { attempt })
        .andWhere(`status = 'pending'`);
      if (record.retryInSeconds !== null) update.setParameter('delay', record.retryInSeconds);
      const { affected } = await update.execute();
      await manager.update(
        WebhookDeliveryAttempt,
        { deliveryId, attempt },
        { outcome: record.outcome, finishedAt: new Date(), durationMs: record.durationMs, responseStatus, responseExcerpt, errorMessage },
      );
      return Boolean(affected);
    });
  }

  /** Deliveries by status (metrics). */
  countByStatus(): Promise<{ status: string; value: number }[]> {
    return query(this.dataSource, `SELECT status, count(*)::int AS value FROM webhook_deliveries GROUP BY status`);
  }
}
