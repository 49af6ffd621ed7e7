import type { EntityManager } from 'typeorm';

/**
 * What must commit together with a job's cancellation (its
 * `batch_job_cancelled` webhooks). Jobs declares the hook and the webhooks
 * module provides it, so jobs never imports webhooks (webhooks reads jobs:
 * one direction only, a rule in test/architecture).
 */
export abstract class JobCancellationHook {
  abstract onCancelled(jobId: string, tx: EntityManager): Promise<unknown>;
}
