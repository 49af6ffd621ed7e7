import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BatchJob } from '../jobs/entities/batch-job.entity.js';
import { BatchLot } from '../jobs/entities/batch-lot.entity.js';
import { OpenAiGatewayModule } from '../openai/openai-gateway.module.js';
import { TranslationModule } from '../translation/translation.module.js';
import { VisionModule } from '../vision/vision.module.js';
import { WebhooksModule } from '../webhooks/webhooks.module.js';
import { BatchAwaitStage } from './batch-await.stage.js';
import { BatchIngestionService } from './batch-ingestion.service.js';
import { BatchCancelModule } from './batch-cancel.module.js';
import { BatchReconcilerService } from './batch-reconciler.service.js';
import { BatchSubmitStage } from './batch-submit.stage.js';
import { DirectFallbackStage } from './direct-fallback.stage.js';
import { ImageCheckModule } from '../image-check/image-check.module.js';
import { ImageCheckStage } from './image-check.stage.js';
import { JobClaimRepository } from './job-claim.repository.js';
import { JobFinisherService } from './job-finisher.service.js';
import { LotResultWriter } from './lot-result.writer.js';
import { OpenAiBatch } from './openai-batch.entity.js';
import { PipelineRunnerService } from './pipeline-runner.service.js';

/**
 * The batch pipeline's worker side: image checks, batch submission, the
 * monitor, ingestion, direct fallbacks and reconciliation, registered as
 * worker tasks; loaded only where APP_ROLE includes `worker`. The API role
 * loads what it needs without it: LotProcessingModule (sync mode) and
 * BatchCancelModule (cancelling upstream batches). Exports ingestion, for the benchmark.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([OpenAiBatch, BatchJob, BatchLot]),
    OpenAiGatewayModule,
    BatchCancelModule,
    VisionModule,
    TranslationModule,
    ImageCheckModule,
    WebhooksModule,
  ],
  providers: [
    LotResultWriter,
    BatchIngestionService,
    JobClaimRepository,
    JobFinisherService,
    BatchReconcilerService,
    ImageCheckStage,
    BatchSubmitStage,
    BatchAwaitStage,
    DirectFallbackStage,
    PipelineRunnerService,
  ],
  exports: [BatchIngestionService],
})
export class BatchMonitorModule {}
