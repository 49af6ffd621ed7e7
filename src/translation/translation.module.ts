import { Module } from '@nestjs/common';
import { OpenAiGatewayModule } from '../openai/openai-gateway.module.js';
import { TranslationService } from './translation.service.js';

@Module({
  imports: [OpenAiGatewayModule],
  providers: [TranslationService],
  exports: [TranslationService],
})
export class TranslationModule {}
