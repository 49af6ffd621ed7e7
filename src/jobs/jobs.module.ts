import { Module } from '@nestjs/common';
import { OpenAiBatchesModule } from '../batch-monitor/openai-batches.module.js';
import { LotProcessingModule } from '../lot-processing/lot-processing.module.js';
import { WebhooksModule } from '../webhooks/webhooks.module.js';
import { BatchJobsController } from './controllers/batch-jobs.controller.js';
import { GenerateController } from './controllers/generate.controller.js';
import { JobPollingController } from './controllers/job-polling.controller.js';
import { JobDataModule } from './job-data.module.js';
import { JobsService } from './jobs.service.js';
import { ClientRateLimitGuard } from './rate-limit/client-rate-limit.guard.js';
import { FixedWindowCounter } from './rate-limit/fixed-window.counter.js';
import { SyncGenerationService } from './sync/sync-generation.service.js';
import { UpstreamCanceller } from './upstream-canceller.js';

/** The HTTP API of jobs (reference 002): creation, synchronous mode, polling, listing, cancellation. */
@Module({
  imports: [JobDataModule, LotProcessingModule, OpenAiBatchesModule, WebhooksModule],
  controllers: [GenerateController, JobPollingController, BatchJobsController],
  providers: [JobsService, SyncGenerationService, UpstreamCanceller, FixedWindowCounter, ClientRateLimitGuard],
  exports: [JobsService],
})
export class JobsModule {}
