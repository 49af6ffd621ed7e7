import { maskUrlCredentials } from '../common/http/safe-request.js';
import type { WebhookAttemptDto, WebhookDeliveryDto } from './dto/webhook-delivery.dto.js';
import type { WebhookDeliveryAttempt } from './webhook-delivery-attempt.entity.js';
import type { WebhookDelivery } from './webhook-delivery.entity.js';

export type WebhookDeliveryView = WebhookDeliveryDto;

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);
/** Credentials in a receiver's URL (`https://user:password@…`) are sent, never listed. */
const masked = (text: string | null): string | null => (text === null ? null : maskUrlCredentials(text));

export function attemptView(attempt: WebhookDeliveryAttempt): WebhookAttemptDto {
  return {
    attempt: attempt.attempt,
    outcome: attempt.outcome,
    started_at: attempt.startedAt.toISOString(),
    finished_at: iso(attempt.finishedAt),
    duration_ms: attempt.durationMs,
    response_status: attempt.responseStatus,
    response_excerpt: attempt.responseExcerpt,
    error_message: masked(attempt.errorMessage),
  };
}

/** A delivery as operators see it: every column of the seed's table plus its attempts. */
export function deliveryView(delivery: WebhookDelivery, attempts: WebhookDeliveryAttempt[]): WebhookDeliveryView {
  return {
    id: delivery.id,
    webhook_id: delivery.id,
    batch_job_id: delivery.batchJobId,
    webhook_url: maskUrlCredentials(delivery.webhookUrl),
    event: delivery.event,
    part: delivery.part,
    parts: delivery.parts,
    lot_count: delivery.lotCount,
    status: delivery.status,
    attempt_count: delivery.attemptCount,
    max_attempts: delivery.maxAttempts,
    next_attempt_at: delivery.status === 'pending' ? iso(delivery.nextAttemptAt) : null,
    last_attempt_at: iso(delivery.lastAttemptAt),
    delivered_at: iso(delivery.deliveredAt),
    response_status: delivery.responseStatus,
    response_excerpt: delivery.responseExcerpt,
    error_message: masked(delivery.errorMessage),
    created_at: delivery.createdAt.toISOString(),
    updated_at: delivery.updatedAt.toISOString(),
    attempts: attempts.map(attemptView),
  };
}
