import { Module } from '@nestjs/common';
import { OpenAiGatewayModule } from '../openai/openai-gateway.module.js';
import { VisionService } from './vision.service.js';

/** The damage description: prompt, request body (model settings, image detail, budgets) and answer reading. */
@Module({
  imports: [OpenAiGatewayModule],
  providers: [VisionService],
  exports: [VisionService],
})
export class VisionModule {}
