import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { JobStatus, type BudgetRetryRecord, type LotResult, type ReusedFrom, type TokenUsage } from '../job.types.js';

/** One vehicle of a job. Its row id is the `custom_id` of its OpenAI batch requests. */
@Entity('batch_lots')
export class BatchLot implements LotResult {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'batch_job_id', type: 'uuid' })
  batchJobId: string;

  /** Order of the lot in the client's request; results come back in this order. */
  @Column({ type: 'int' })
  position: number;

  @Column({ name: 'lot_id', type: 'text' })
  lotId: string;

  @Column({ name: 'additional_info', type: 'text', nullable: true })
  additionalInfo: string | null;

  @Column({ name: 'webhook_url', type: 'text', nullable: true })
  webhookUrl: string | null;

  @Column({ type: 'jsonb' })
  images: { url: string }[];

  @Column({ type: 'text', default: JobStatus.Pending })
  status: JobStatus;

  /** The English damage description, HTML text (never a serialised object: reference 003). */
  @Column({ name: 'vision_result', type: 'text', nullable: true })
  visionResult: string | null;

  /** Language code → HTML description. */
  @Column({ type: 'jsonb', nullable: true })
  translations: Record<string, string> | null;

  @Column({ name: 'missing_images', type: 'jsonb', default: [] })
  missingImages: string[];

  @Column({ name: 'processed_images', type: 'int', default: 0 })
  processedImages: number;

  @Column({ name: 'error_message', type: 'text', nullable: true })
  errorMessage: string | null;

  @Column({ type: 'jsonb', default: {} })
  usage: TokenUsage;

  /** Answers cut at max_output_tokens and the one retry each earned (stage, budgets, what the cut attempt billed). */
  @Column({ name: 'budget_retries', type: 'jsonb', default: [] })
  budgetRetries: BudgetRetryRecord[];

  /** Times the lot was processed: 1, plus one per retry of the failed lot (issue 13). */
  @Column({ type: 'int', default: 1 })
  attempts: number;
  /** Hash of what its result depends on (image bytes, notes, languages, models), set by the image check. */
  @Column({ name: 'content_key', type: 'text', nullable: true })
  contentKey: string | null;

  /** The completed lot whose result it took instead of calling OpenAI (`reuse_results`), and the cost saved. */
  @Column({ name: 'reused_from', type: 'jsonb', nullable: true })
  reusedFrom: ReusedFrom | null;

  @Column({ name: 'processed_at', type: 'timestamptz', nullable: true })
  processedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
