import { Module } from '@nestjs/common';
import { ImageCheckModule } from '../image-check/image-check.module.js';
import { TranslationModule } from '../translation/translation.module.js';
import { VisionModule } from '../vision/vision.module.js';
import { LotProcessorService } from './lot-processor.service.js';

/**
 * Direct processing of one lot (image check → vision → translation) for
 * synchronous mode. Small on purpose: the API role loads it without the
 * batch pipeline, its tables or its worker tasks.
 */
@Module({
  imports: [ImageCheckModule, VisionModule, TranslationModule],
  providers: [LotProcessorService],
  exports: [LotProcessorService],
})
export class LotProcessingModule {}
