import { Module } from '@nestjs/common';
import { JobDataModule } from '../jobs/job-data.module.js';
import { OpenAiGatewayModule } from '../openai/openai-gateway.module.js';
import { TranslationModule } from '../translation/translation.module.js';
import { VisionModule } from '../vision/vision.module.js';
import { WebhooksModule } from '../webhooks/webhooks.module.js';
import { BatchAwaitStage } from './batch-await.stage.js';
import { BatchIngestionService } from './batch-ingestion.service.js';
import { OpenAiBatchesModule } from '../openai-batches/openai-batches.module.js';
import { BatchReconcilerService } from './batch-reconciler.service.js';
import { BatchSubmitStage } from './batch-submit.stage.js';
import { DirectFallbackStage } from './direct-fallback.stage.js';
import { ImageCheckModule } from '../image-check/image-check.module.js';
import { ImageCheckStage } from './image-check.stage.js';
import { ClaimKeeper } from './claim-keeper.service.js';
import { JobFinisherService } from './job-finisher.service.js';
import { PipelineRunnerService } from './pipeline-runner.service.js';
import { RetentionPurgeService } from './retention-purge.service.js';

/**
 * The batch pipeline's worker side: image checks, batch submission, the
 * monitor, ingestion, direct fallbacks and reconciliation, registered as
 * worker tasks; loaded only where APP_ROLE includes `worker`. The API role
 * loads what it needs without it: LotProcessingModule (sync mode) and
 * OpenAiBatchesModule (cancelling upstream batches, which owns `openai_batches`).
 * Jobs and lots are reached through JobDataModule. Exports ingestion, for the benchmark.
 */
@Module({
  imports: [JobDataModule, OpenAiGatewayModule, OpenAiBatchesModule, VisionModule, TranslationModule, ImageCheckModule, WebhooksModule],
  providers: [
    BatchIngestionService,
    ClaimKeeper,
    JobFinisherService,
    BatchReconcilerService,
    ImageCheckStage,
    BatchSubmitStage,
    BatchAwaitStage,
    DirectFallbackStage,
    PipelineRunnerService,
    RetentionPurgeService,
  ],
  exports: [BatchIngestionService],
})
export class BatchMonitorModule {}
