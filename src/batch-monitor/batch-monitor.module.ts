import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { BatchJob } from '../jobs/entities/batch-job.entity.js';
import { BatchLot } from '../jobs/entities/batch-lot.entity.js';
import { OpenAiGatewayModule } from '../openai/openai-gateway.module.js';
import { TranslationModule } from '../translation/translation.module.js';
import { BatchMonitorService } from './batch-monitor.service.js';
import { ImageCheckService } from './image-check.service.js';
import { LotProcessorService } from './lot-processor.service.js';
import { OpenAiBatch } from './openai-batch.entity.js';

/**
 * The batch pipeline's worker side: image checks, batch submission, the
 * monitor, ingestion, fallbacks and reconciliation. Exports the pieces the
 * jobs API uses (sync mode's direct processing, cancelling upstream batches).
 */
@Module({
  imports: [TypeOrmModule.forFeature([OpenAiBatch, BatchJob, BatchLot]), OpenAiGatewayModule, TranslationModule],
  providers: [BatchMonitorService, ImageCheckService, LotProcessorService],
  exports: [BatchMonitorService, LotProcessorService],
})
export class BatchMonitorModule {}
