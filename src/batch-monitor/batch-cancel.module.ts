import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OpenAiGatewayModule } from '../openai/openai-gateway.module.js';
import { BatchMonitorService } from './batch-monitor.service.js';
import { OpenAiBatch } from './openai-batch.entity.js';

/**
 * Cancelling a job's OpenAI batches, on its own so that the API role (which
 * cancels jobs) loads it without the pipeline's stages and worker tasks.
 */
@Module({
  imports: [TypeOrmModule.forFeature([OpenAiBatch]), OpenAiGatewayModule],
  providers: [BatchMonitorService],
  exports: [BatchMonitorService],
})
export class BatchCancelModule {}
