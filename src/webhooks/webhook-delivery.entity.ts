import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { OPTIONAL_WEBHOOK_EVENTS, type OptionalWebhookEvent } from '../jobs/job.types.js';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';
export type WebhookEvent = 'batch_job_completed' | 'batch_job_failed' | 'batch_job_cancelled' | OptionalWebhookEvent;

/** Transition events (issue 13): sent without lots, only for jobs that asked for them in `webhook_events`. */
export function isTransitionEvent(event: WebhookEvent): event is OptionalWebhookEvent {
  return (OPTIONAL_WEBHOOK_EVENTS as readonly string[]).includes(event);
}

/** One webhook message (one URL, one event, one part) and the state of its attempts. Seed table name. */
@Entity('webhook_deliveries')
export class WebhookDelivery {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'batch_job_id', type: 'uuid' })
  batchJobId: string;

  @Column({ name: 'webhook_url', type: 'text' })
  webhookUrl: string;

  @Column({ type: 'text' })
  event: WebhookEvent;

  /** The job's terminal timestamp this delivery announces; with the event, it makes enqueueing idempotent. */
  @Column({ name: 'job_round', type: 'text', default: '' })
  jobRound: string;

  /** First and last `batch_lots.position` (among the lots naming this URL) that this part carries. */
  @Column({ name: 'lot_position_from', type: 'int', nullable: true })
  lotPositionFrom: number | null;

  @Column({ name: 'lot_position_to', type: 'int', nullable: true })
  lotPositionTo: number | null;

  @Column({ name: 'lot_count', type: 'int', default: 0 })
  lotCount: number;

  /** Body size computed when the parts were planned. */
  @Column({ name: 'planned_bytes', type: 'int', nullable: true })
  plannedBytes: number | null;

  /** `attempt_count` when the current retry schedule began (0, or the count at the last manual redelivery). */
  @Column({ name: 'round_start_attempt', type: 'int', default: 0 })
  roundStartAttempt: number;

  @Column({ type: 'int', default: 1 })
  part: number;

  @Column({ type: 'int', default: 1 })
  parts: number;

  @Column({ type: 'text', default: 'pending' })
  status: DeliveryStatus;

  @Column({ name: 'attempt_count', type: 'int', default: 0 })
  attemptCount: number;

  @Column({ name: 'max_attempts', type: 'int' })
  maxAttempts: number;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true })
  nextAttemptAt: Date | null;

  @Column({ name: 'last_attempt_at', type: 'timestamptz', nullable: true })
  lastAttemptAt: Date | null;

  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt: Date | null;

  @Column({ name: 'response_status', type: 'int', nullable: true })
  responseStatus: number | null;

  @Column({ name: 'response_excerpt', type: 'text', nullable: true })
  responseExcerpt: string | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
