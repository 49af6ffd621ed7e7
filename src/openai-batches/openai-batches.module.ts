import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OpenAiGatewayModule } from '../openai/openai-gateway.module.js';
import { OpenAiBatchesService } from './openai-batches.service.js';
import { OpenAiBatch } from './openai-batch.entity.js';
import { OpenAiBatchRepository } from './openai-batch.repository.js';

/**
 * The owner of `openai_batches`: its repository (used by the pipeline) and
 * OpenAiBatchesService, which cancels a job's batches at OpenAI and counts
 * them for /metrics. On its own so that the API role, which cancels jobs,
 * loads it without the pipeline's stages and worker tasks.
 */
@Module({
  imports: [TypeOrmModule.forFeature([OpenAiBatch]), OpenAiGatewayModule],
  providers: [OpenAiBatchRepository, OpenAiBatchesService],
  exports: [OpenAiBatchRepository, OpenAiBatchesService],
})
export class OpenAiBatchesModule {}
