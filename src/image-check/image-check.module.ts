import { Module } from '@nestjs/common';
import { HttpClientModule } from '../common/http/http-client.module.js';
import { ImageCheckService } from './image-check.service.js';

/**
 * Image URL checks before anything goes to OpenAI (002), through the
 * SSRF-safe client. Used by the pipeline's image-check stage and by direct
 * lot processing (sync mode); it knows nothing of jobs or lots' tables.
 */
@Module({
  imports: [HttpClientModule],
  providers: [ImageCheckService],
  exports: [ImageCheckService],
})
export class ImageCheckModule {}
