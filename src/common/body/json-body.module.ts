import { type DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { BuildBodyGuard } from './build-body.guard.js';
import { BODY_PARSING_OPTIONS, JsonBodyParser, type BodyParsingOptions } from './json-body.parser.js';

/**
 * Provides the body parser (and its thread pool, closed with the
 * application), and the global guard that builds large bodies in turns once
 * their request is authenticated: mount this module after AuthModule.
 */
@Module({})
export class JsonBodyModule {
  static forRoot(options: BodyParsingOptions = {}): DynamicModule {
    return {
      module: JsonBodyModule,
      providers: [{ provide: BODY_PARSING_OPTIONS, useValue: options }, JsonBodyParser, { provide: APP_GUARD, useClass: BuildBodyGuard }],
      exports: [JsonBodyParser],
    };
  }
}
