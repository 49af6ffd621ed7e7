import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BatchJob } from './entities/batch-job.entity.js';
import { BatchLot } from './entities/batch-lot.entity.js';
import { JobClaimRepository } from './job-claim.repository.js';
import { JobControlRepository } from './job-control.repository.js';
import { JobPipelineService } from './job-pipeline.service.js';
import { JobRepository } from './job.repository.js';
import { LotRepository } from './lot.repository.js';
import { OpenAiUsageRepository } from './usage/openai-usage.repository.js';
import { UsageMetrics } from './usage/usage-metrics.js';

/**
 * The owner of `batch_jobs` and `batch_lots`, in every role: the API (JobsModule)
 * uses its repositories, everyone else JobPipelineService. Kept apart from the
 * API module so the pipeline and webhooks can import it without the controllers.
 */
@Module({
  imports: [TypeOrmModule.forFeature([BatchJob, BatchLot])],
  providers: [
    JobRepository,
    JobClaimRepository,
    LotRepository,
    JobPipelineService,
    JobControlRepository,
    OpenAiUsageRepository,
    UsageMetrics,
  ],
  exports: [JobRepository, JobPipelineService, JobControlRepository, OpenAiUsageRepository, UsageMetrics],
})
export class JobDataModule {}
