import { ConsoleLogger, type INestApplication, type LogLevel, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from '../app.module.js';
import type { AppConfig } from '../config/app-config.js';
import type { Clock } from '../common/clock.js';
import { setupSwagger } from './swagger.js';
import { createValidationPipe } from '../common/validation/validation.pipe.js';
import { ManagementServer } from '../management/management.server.js';
import { applyHttpHygiene } from './http-hygiene.js';
import { responseCompression } from './response-compression.js';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { JsonBodyModule } from '../common/body/json-body.module.js';
import { jsonBodyMiddleware } from '../common/body/json-body.middleware.js';
import { JsonBodyParser, type BodyParsingOptions } from '../common/body/json-body.parser.js';

/** Largest accepted request body (see src/common/body/json-limits.ts for the others). */
export { MAX_BODY_BYTES } from '../common/body/json-limits.js';

const LEVELS: Record<AppConfig['log']['level'], LogLevel[]> = {
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  info: ['fatal', 'error', 'warn', 'log'],
  warn: ['fatal', 'error', 'warn'],
  error: ['fatal', 'error'],
};

export function createLogger(config: Pick<AppConfig, 'log'>): ConsoleLogger {
  return new ConsoleLogger({ logLevels: LEVELS[config.log.level], json: config.log.json, prefix: 'GenerationService' });
}

/**
 * Builds the Nest application for `config` (used by main.ts and by the tests,
 * so both run exactly the same wiring). The caller decides when to listen and
 * handles signals (main.ts closes the app, then the embedded database).
 */
export interface CreateAppOptions {
  logger?: ConsoleLogger | false;
  /** Extra modules mounted beside the application's own (tests mount probe routes this way). */
  extraModules?: Type[];
  /** Smaller body limits or parser heaps (tests prove the limits' logic with small bodies this way). */
  bodyParsing?: BodyParsingOptions;
  /** Time for everything that injects `Clock` (default: the system clock; tests pass a manual one). */
  clock?: Clock;
}

export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<INestApplication> {
  const root = AppModule.forRoot(config, { clock: options.clock });
  root.imports = [...(root.imports ?? []), JsonBodyModule.forRoot(options.bodyParsing), ...(options.extraModules ?? [])];
  const app = await NestFactory.create<NestExpressApplication>(root, {
    logger: options.logger === undefined ? createLogger(config) : options.logger,
    bodyParser: false, // one parser of our own, below: the body is parsed once, from the bytes the signature covers
  });
  // Security headers, no-store and CORS first, so that every answer carries them, body refusals (415, 413) included.
  applyHttpHygiene(app, config);
  app.use(responseCompression());
  app.use(jsonBodyMiddleware(app.get(JsonBodyParser)));
  app.set('trust proxy', 'loopback');
  app.disable('x-powered-by');
  // API answers change with every poll and clients do not revalidate: hashing each body for an ETag is pure cost.
  app.set('etag', false);
  app.useGlobalPipes(createValidationPipe());
  setupSwagger(app);
  return app;
}

/**
 * Listens on the public port and on the management port (detailed health,
 * /metrics); either may be 0 (any free port). Resolves with the actual ports.
 */
export async function listenAll(
  app: INestApplication,
  ports: { port: number; managementPort: number },
  host: string,
): Promise<{ port: number; managementPort: number }> {
  await app.listen(ports.port, host);
  const managementPort = await app.get(ManagementServer).listen(ports.managementPort, host);
  return { port: ((app.getHttpServer() as Server).address() as AddressInfo).port, managementPort };
}
