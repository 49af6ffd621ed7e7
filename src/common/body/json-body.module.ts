import { type DynamicModule, Module } from '@nestjs/common';
import { BODY_PARSING_OPTIONS, JsonBodyParser, type BodyParsingOptions } from './json-body.parser.js';

/** Provides the body parser (and its thread pool, closed with the application). */
@Module({})
export class JsonBodyModule {
  static forRoot(options: BodyParsingOptions = {}): DynamicModule {
    return {
      module: JsonBodyModule,
      providers: [{ provide: BODY_PARSING_OPTIONS, useValue: options }, JsonBodyParser],
      exports: [JsonBodyParser],
    };
  }
}
