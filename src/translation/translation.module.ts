import { Module } from '@nestjs/common';
import { OpenAiGatewayModule } from '../openai/openai-gateway.module.js';
import { TranslationService } from './translation.service.js';

/** Translation of a lot's HTML: prompt, request, structured-output schema and answer parsing. */
@Module({
  imports: [OpenAiGatewayModule],
  providers: [TranslationService],
  exports: [TranslationService],
})
export class TranslationModule {}
