import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { HttpClientModule } from '../common/http/http-client.module.js';
import { JobDataModule } from '../jobs/job-data.module.js';
import { OpenAiGatewayModule } from '../openai/openai-gateway.module.js';
import { TranslationModule } from '../translation/translation.module.js';
import { WebhooksModule } from '../webhooks/webhooks.module.js';
import { BatchAwaitStage } from './batch-await.stage.js';
import { BatchIngestionService } from './batch-ingestion.service.js';
import { BatchMonitorService } from './batch-monitor.service.js';
import { BatchReconcilerService } from './batch-reconciler.service.js';
import { BatchSubmitStage } from './batch-submit.stage.js';
import { DirectFallbackStage } from './direct-fallback.stage.js';
import { ImageCheckService } from './image-check.service.js';
import { ImageCheckStage } from './image-check.stage.js';
import { ClaimKeeper } from './claim-keeper.service.js';
import { JobFinisherService } from './job-finisher.service.js';
import { LotProcessorService } from './lot-processor.service.js';
import { OpenAiBatch } from './openai-batch.entity.js';
import { OpenAiBatchRepository } from './openai-batch.repository.js';
import { PipelineRunnerService } from './pipeline-runner.service.js';

/**
 * The batch pipeline's worker side: image checks, batch submission, the
 * monitor, ingestion, direct fallbacks and reconciliation, registered as
 * worker tasks (they run only where APP_ROLE includes `worker`). Exports what
 * the jobs API uses: sync mode's direct processing and cancelling upstream
 * batches (and counting them, for metrics); ingestion, for the benchmark.
 * Owns `openai_batches`; jobs and lots are reached through JobDataModule.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([OpenAiBatch]),
    JobDataModule,
    OpenAiGatewayModule,
    TranslationModule,
    WebhooksModule,
    HttpClientModule,
  ],
  providers: [
    BatchMonitorService,
    ImageCheckService,
    LotProcessorService,
    OpenAiBatchRepository,
    BatchIngestionService,
    ClaimKeeper,
    JobFinisherService,
    BatchReconcilerService,
    ImageCheckStage,
    BatchSubmitStage,
    BatchAwaitStage,
    DirectFallbackStage,
    PipelineRunnerService,
  ],
  exports: [BatchMonitorService, LotProcessorService, BatchIngestionService],
})
export class BatchMonitorModule {}
