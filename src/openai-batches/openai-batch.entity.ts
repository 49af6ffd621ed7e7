import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

import type { BatchStage } from './openai-batch.types.js';

/** Every OpenAI batch the service ever created for a job (a large job may need several per stage). */
@Entity('openai_batches')
export class OpenAiBatch {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'batch_job_id', type: 'uuid' })
  batchJobId: string;

  @Column({ type: 'text' })
  stage: BatchStage;

  @Column({ type: 'int', default: 1 })
  part: number;

  @Column({ name: 'openai_batch_id', type: 'text', unique: true })
  openaiBatchId: string;

  @Column({ name: 'input_file_id', type: 'text', nullable: true })
  inputFileId: string | null;

  @Column({ name: 'output_file_id', type: 'text', nullable: true })
  outputFileId: string | null;

  @Column({ name: 'error_file_id', type: 'text', nullable: true })
  errorFileId: string | null;

  /** Last status seen at OpenAI (validating, in_progress, completed, expired, ...). */
  @Column({ type: 'text' })
  status: string;

  @Column({ name: 'request_count', type: 'int' })
  requestCount: number;

  @Column({ name: 'completed_count', type: 'int', default: 0 })
  completedCount: number;

  @Column({ name: 'failed_count', type: 'int', default: 0 })
  failedCount: number;

  @Column({ name: 'ingested_at', type: 'timestamptz', nullable: true })
  ingestedAt: Date | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  /** When we asked OpenAI to cancel it (stage deadline passed, or its job was cancelled). */
  @Column({ name: 'cancel_requested_at', type: 'timestamptz', nullable: true })
  cancelRequestedAt: Date | null;

  /** When we stopped waiting for it (a cancel that never finished); its lots were finished another way. */
  @Column({ name: 'abandoned_at', type: 'timestamptz', nullable: true })
  abandonedAt: Date | null;

  /** Set when the reconciliation sweep found it at OpenAI without a row here (reference 001). */
  @Column({ name: 'reconciled_at', type: 'timestamptz', nullable: true })
  reconciledAt: Date | null;

  /** When its input, output and error files were deleted at OpenAI (OPENAI_DELETE_FILES). */
  @Column({ name: 'files_deleted_at', type: 'timestamptz', nullable: true })
  filesDeletedAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
