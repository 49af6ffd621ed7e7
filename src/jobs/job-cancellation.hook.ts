import type { EntityManager } from 'typeorm';
import type { OptionalWebhookEvent } from './job.types.js';

/**
 * What must commit together with a job's cancellation (its
 * `batch_job_cancelled` webhooks). Jobs declares the hook and the webhooks
 * module provides it, so jobs never imports webhooks (webhooks reads jobs:
 * one direction only, a rule in test/architecture).
 */
export abstract class JobCancellationHook {
  abstract onCancelled(jobId: string, tx: EntityManager): Promise<unknown>;
  /** A job-control transition (issue 13): its webhooks, for the URLs of jobs that asked for the event, commit with it. */
  abstract onTransition(jobId: string, event: OptionalWebhookEvent, tx: EntityManager): Promise<unknown>;
}
