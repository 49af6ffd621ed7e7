import { OpenAiWebhooksController } from './controllers/openai-webhooks.controller.js';
import { DryRunEstimator } from './estimate/dry-run.estimator.js';
import { Module, type DynamicModule, type ModuleMetadata } from '@nestjs/common';
import { OpenAiBatchesModule } from '../openai-batches/openai-batches.module.js';
import { LotProcessingModule } from '../lot-processing/lot-processing.module.js';
import { BatchJobsController } from './controllers/batch-jobs.controller.js';
import { JobListController } from './controllers/job-list.controller.js';
import { GenerateController } from './controllers/generate.controller.js';
import { JobPollingController } from './controllers/job-polling.controller.js';
import { JobControlController } from './controllers/job-control.controller.js';
import { JobControlService } from './job-control.service.js';
import { JobDataModule } from './job-data.module.js';
import { JobQueriesService } from './job-queries.service.js';
import { IdempotencyInterceptor } from './idempotency/idempotency.interceptor.js';
import { IdempotencyStore } from './idempotency/idempotency.store.js';
import { JobsService } from './jobs.service.js';
import { ClientRateLimitGuard } from './rate-limit/client-rate-limit.guard.js';
import { RateLimitPolicy } from './rate-limit/rate-limit-policy.js';
import { SharedRateLimiter } from './rate-limit/shared-rate-limiter.js';
import { SyncGenerationService } from './sync/sync-generation.service.js';
import { UpstreamCanceller } from './upstream-canceller.js';
import { statusCacheProvider } from './status-cache/job-status-cache.js';

/**
 * The HTTP API of jobs (reference 002): creation, synchronous mode, polling,
 * listing, cancellation. `register` takes the module that provides
 * JobCancellationHook (the webhooks module), so jobs does not import it.
 */
@Module({
  imports: [JobDataModule, LotProcessingModule, OpenAiBatchesModule],
  controllers: [
    GenerateController,
    JobPollingController,
    JobListController,
    BatchJobsController,
    JobControlController,
    OpenAiWebhooksController,
  ],
  providers: [
    JobsService,
    JobControlService,
    JobQueriesService,
    SyncGenerationService,
    UpstreamCanceller,
    RateLimitPolicy,
    SharedRateLimiter,
    ClientRateLimitGuard,
    IdempotencyStore,
    IdempotencyInterceptor,
    DryRunEstimator,
    statusCacheProvider,
  ],
  exports: [JobsService],
})
export class JobsModule {
  static register(options: { cancellationHook: NonNullable<ModuleMetadata['imports']>[number] }): DynamicModule {
    return { module: JobsModule, imports: [options.cancellationHook] };
  }
}
