import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean, IsOptional } from 'class-validator';

const JOB_ID = '550e8400-e29b-41d4-a716-446655440000';
const DELIVERY_ID = '0b7c1c52-9a43-4b1e-8f0e-3f5d2f1f8a21';

/** Body of POST /batch-jobs/{job_id}/webhooks/redeliver (optional). */
export class RedeliverWebhooksDto {
  @ApiProperty({
    required: false,
    default: false,
    example: false,
    description: 'false (default): re-send only failed deliveries; true: re-send every finished delivery, delivered ones included',
  })
  @IsOptional()
  @IsBoolean()
  all?: boolean;
}

export class WebhookAttemptDto {
  @ApiProperty({ example: 2, type: 'integer', minimum: 0, description: 'The X-Delivery-Attempt number that was sent' })
  attempt: number;

  @ApiProperty({
    enum: ['in_flight', 'delivered', 'retry', 'failed', 'lost'],
    example: 'retry',
    description: '`lost`: the worker stopped before recording an outcome; the attempt was made again',
  })
  outcome: string;

  @ApiProperty({ example: '2025-08-05T08:15:30.000Z', format: 'date-time' })
  started_at: string;

  @ApiProperty({ example: '2025-08-05T08:15:30.412Z', nullable: true, type: String, format: 'date-time' })
  finished_at: string | null;

  @ApiProperty({ example: 412, nullable: true, type: 'integer' })
  duration_ms: number | null;

  @ApiProperty({ example: 500, nullable: true, type: 'integer' })
  response_status: number | null;

  @ApiProperty({ example: '{"error":"database unavailable"}', nullable: true, type: String, description: 'First 1 KB of the answer' })
  response_excerpt: string | null;

  @ApiProperty({ example: 'HTTP 500 from receiver', nullable: true, type: String })
  error_message: string | null;
}

export class WebhookDeliveryDto {
  @ApiProperty({ example: DELIVERY_ID, format: 'uuid' })
  id: string;

  @ApiProperty({ example: DELIVERY_ID, description: 'The `webhook-id` header: the same on every attempt of this delivery' })
  webhook_id: string;

  @ApiProperty({ example: JOB_ID })
  batch_job_id: string;

  @ApiProperty({ example: 'https://your-app.com/webhooks/generation-complete' })
  webhook_url: string;

  @ApiProperty({
    enum: ['batch_job_completed', 'batch_job_failed', 'batch_job_cancelled', 'batch_job_paused', 'batch_job_resumed', 'batch_job_retried'],
    example: 'batch_job_completed',
    description: 'The three terminal events always; paused, resumed and retried only for jobs that asked for them (`webhook_events`)',
  })
  event: string;

  @ApiProperty({
    example: 1,
    type: 'integer',
    minimum: 0,
    description: 'Part number when a large result is split (WEBHOOK_MAX_BODY_BYTES)',
  })
  part: number;

  @ApiProperty({ example: 1, type: 'integer', minimum: 0 })
  parts: number;

  @ApiProperty({ example: 2, type: 'integer', minimum: 0, description: 'Lots carried by this part' })
  lot_count: number;

  @ApiProperty({ enum: ['pending', 'delivered', 'failed'], example: 'delivered' })
  status: string;

  @ApiProperty({ example: 3, type: 'integer', minimum: 0 })
  attempt_count: number;

  @ApiProperty({ example: 5, type: 'integer', minimum: 0 })
  max_attempts: number;

  @ApiProperty({ example: null, nullable: true, type: String, format: 'date-time', description: 'When a pending delivery is (re)tried' })
  next_attempt_at: string | null;

  @ApiProperty({ example: '2025-08-05T08:16:30.000Z', nullable: true, type: String, format: 'date-time' })
  last_attempt_at: string | null;

  @ApiProperty({ example: '2025-08-05T08:16:30.398Z', nullable: true, type: String, format: 'date-time' })
  delivered_at: string | null;

  @ApiProperty({ example: 200, nullable: true, type: 'integer' })
  response_status: number | null;

  @ApiProperty({ example: '{"status":"success"}', nullable: true, type: String })
  response_excerpt: string | null;

  @ApiProperty({ example: null, nullable: true, type: String })
  error_message: string | null;

  @ApiProperty({ example: '2025-08-05T08:15:00.000Z', format: 'date-time' })
  created_at: string;

  @ApiProperty({ example: '2025-08-05T08:16:30.398Z', format: 'date-time' })
  updated_at: string;

  @ApiProperty({ type: [WebhookAttemptDto] })
  attempts: WebhookAttemptDto[];
}

export class WebhookDeliveryListDto {
  @ApiProperty({ example: JOB_ID })
  job_id: string;

  @ApiProperty({ type: [WebhookDeliveryDto] })
  deliveries: WebhookDeliveryDto[];
}

export class RedeliveryResultDto {
  @ApiProperty({ example: JOB_ID })
  job_id: string;

  @ApiProperty({ example: false })
  all: boolean;

  @ApiProperty({ example: 1, type: 'integer', minimum: 0 })
  requeued_count: number;

  @ApiProperty({ type: [WebhookDeliveryDto], description: 'The deliveries put back in the queue (status pending, due now)' })
  requeued: WebhookDeliveryDto[];
}
