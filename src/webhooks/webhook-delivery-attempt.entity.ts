import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * `in_flight` while a worker sends; `lost` when the worker stopped before
 * recording an outcome (its lease expired and the delivery was claimed again).
 */
export type AttemptOutcome = 'in_flight' | 'delivered' | 'retry' | 'failed' | 'lost';

/** One HTTP attempt of one webhook delivery: the history behind `webhook_deliveries.attempt_count`. */
@Entity('webhook_delivery_attempts')
export class WebhookDeliveryAttempt {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'delivery_id', type: 'uuid' })
  deliveryId: string;

  /** The `X-Delivery-Attempt` number sent. */
  @Column({ type: 'int' })
  attempt: number;

  @Column({ type: 'text' })
  outcome: AttemptOutcome;

  @Column({ name: 'worker_id', type: 'text' })
  workerId: string;

  @Column({ name: 'started_at', type: 'timestamptz', default: () => 'now()' })
  startedAt: Date;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt: Date | null;

  @Column({ name: 'duration_ms', type: 'int', nullable: true })
  durationMs: number | null;

  @Column({ name: 'response_status', type: 'int', nullable: true })
  responseStatus: number | null;

  @Column({ name: 'response_excerpt', type: 'text', nullable: true })
  responseExcerpt: string | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage: string | null;
}
