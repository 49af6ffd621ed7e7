import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { errorText } from '../common/errors/error-text.js';
import { AppConfig } from '../config/app-config.js';
import { JobControlRepository } from '../jobs/job-control.repository.js';
import { OpenAiBatchesService } from '../openai-batches/openai-batches.service.js';
import { WorkerTaskRegistry } from '../worker/worker-task.js';

export const RETENTION_TASK = 'retention-purge';
/** Jobs deleted per purge run at most (the next run continues). */
const PURGE_BATCH = 100;
/** A finished job's batches are settled: deleting their files waits for nothing. */
const NO_WAIT_MS = 0;

/**
 * The operator's retention (issue 13): every RETENTION_PURGE_INTERVAL a
 * worker deletes finished jobs older than RETENTION_DAYS exactly as
 * `DELETE /batch-jobs/{id}` does — files at OpenAI first, then the job row
 * with its lots, batch rows and webhook deliveries. `RETENTION_DAYS=0` turns
 * it off. Several workers may purge at once: deleting a job twice is harmless.
 */
@Injectable()
export class RetentionPurgeService implements OnModuleInit {
  private readonly logger = new Logger('Retention');
  private lastRunAt = 0;

  constructor(
    private readonly registry: WorkerTaskRegistry,
    private readonly control: JobControlRepository,
    private readonly batches: OpenAiBatchesService,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.registry.register({ name: RETENTION_TASK, run: () => this.runIfDue() });
  }

  async runIfDue(): Promise<void> {
    const { retentionDays, retentionPurgeIntervalMs } = this.config.pipeline;
    if (retentionDays <= 0 || this.registry.stopping.aborted || Date.now() - this.lastRunAt < retentionPurgeIntervalMs) return;
    this.lastRunAt = Date.now();
    await this.purge(new Date(Date.now() - retentionDays * 86_400_000));
  }

  /** Deletes finished jobs created before `before`; returns how many. */
  async purge(before: Date): Promise<number> {
    let deleted = 0;
    for (;;) {
      const expired = await this.control.expired(before, PURGE_BATCH);
      for (const job of expired) {
        try {
          const upstream = await this.batches.purgeUpstream(job.id, NO_WAIT_MS);
          if (upstream.failures > 0) {
            // Kept until its files at OpenAI are gone too: the next run tries again (from this job: the oldest first).
            this.logger.warn({
              message: `retention: ${upstream.failures} OpenAI cleanup failure(s); job kept for the next run`,
              job_id: job.id,
            });
            return deleted;
          }
          await this.control.transaction((tx) => this.control.deleteJob(tx, job.id));
          deleted++;
        } catch (error) {
          this.logger.warn({ message: `could not purge job: ${errorText(error)}`, job_id: job.id, client_id: job.client_id });
          return deleted;
        }
      }
      if (expired.length < PURGE_BATCH || this.registry.stopping.aborted) break;
    }
    if (deleted > 0) this.logger.log(`retention: deleted ${deleted} job(s) created before ${before.toISOString()}`);
    return deleted;
  }
}
