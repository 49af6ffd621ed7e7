import { Module } from '@nestjs/common';
import { SafeHttpClient } from './safe-http-client.js';

/** Provides the SSRF-safe SafeHttpClient to the modules that call client-supplied URLs. */
@Module({
  providers: [SafeHttpClient],
  exports: [SafeHttpClient],
})
export class HttpClientModule {}
