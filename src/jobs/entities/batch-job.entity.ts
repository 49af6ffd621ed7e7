import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { JobStatus, type Job, type JobMetadata, type OptionalWebhookEvent, type ProcessingMode, type TokenUsage } from '../job.types.js';

/** One client request: a synchronous lot or a batch of up to 50,000 lots. Table name kept from the seed. */
@Entity('batch_jobs')
export class BatchJob implements Job {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'client_id', type: 'text' })
  clientId: string;

  @Column({ type: 'text', default: JobStatus.Pending })
  status: JobStatus;

  @Column({ name: 'processing_mode', type: 'text' })
  processingMode: ProcessingMode;

  @Column({ type: 'text' })
  version: string;

  @Column({ type: 'jsonb' })
  languages: string[];

  @Column({ name: 'total_lots', type: 'int' })
  totalLots: number;

  @Column({ name: 'processed_lots', type: 'int', default: 0 })
  processedLots: number;

  @Column({ name: 'failed_lots', type: 'int', default: 0 })
  failedLots: number;

  @Column({ name: 'current_stage', type: 'text', default: 'queued' })
  currentStage: string;

  /** The vision batch (reference 001: this is the one column for it). */
  @Column({ name: 'openai_batch_id', type: 'text', nullable: true })
  openaiBatchId: string | null;

  @Column({ name: 'openai_translation_batch_id', type: 'text', nullable: true })
  openaiTranslationBatchId: string | null;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage: string | null;

  @Column({ name: 'webhook_configured', type: 'boolean', default: false })
  webhookConfigured: boolean;

  @Column({ type: 'boolean', default: false })
  paused: boolean;

  /** The client's labels: up to 16 string pairs. */
  @Column({ type: 'jsonb', default: {} })
  metadata: JobMetadata;

  @Column({ type: 'text', nullable: true })
  name: string | null;

  @Column({ name: 'webhook_events', type: 'jsonb', default: [] })
  webhookEvents: OptionalWebhookEvent[];
  /** `reuse_results` of the request: lots matching a completed lot of the client take its result (issue 13). */
  @Column({ name: 'reuse_results', type: 'boolean', default: false })
  reuseResults: boolean;

  @Column({ name: 'stage_started_at', type: 'timestamptz', nullable: true })
  stageStartedAt: Date | null;

  @Column({ name: 'stage_deadline_at', type: 'timestamptz', nullable: true })
  stageDeadlineAt: Date | null;

  @Column({ name: 'next_check_at', type: 'timestamptz', default: () => 'now()' })
  nextCheckAt: Date;

  @Column({ name: 'stage_attempts', type: 'int', default: 0 })
  stageAttempts: number;

  @Column({ name: 'estimated_completion', type: 'timestamptz', nullable: true })
  estimatedCompletion: Date | null;

  @Column({ type: 'jsonb', default: {} })
  usage: TokenUsage;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true })
  completedAt: Date | null;

  @Column({ name: 'cancelled_at', type: 'timestamptz', nullable: true })
  cancelledAt: Date | null;

  /** W3C `traceparent` of the request that created the job (its pipeline spans link to it); null when tracing was off. */
  @Column({ name: 'trace_parent', type: 'text', nullable: true })
  traceParent: string | null;
}
