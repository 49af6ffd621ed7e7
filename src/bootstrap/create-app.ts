import type { INestApplication, LoggerService, Type } from '@nestjs/common';
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
import { AppLogger } from '../common/logging/app-logger.js';
import { requestLoggingMiddleware } from '../common/logging/request-logging.middleware.js';
import { MetricsService } from '../metrics/metrics.service.js';

/** Largest accepted request body (see src/common/body/json-limits.ts for the others). */
export { MAX_BODY_BYTES } from '../common/body/json-limits.js';

/**
 * The service's logger (pino: JSON lines under LOG_JSON/production, one readable line each otherwise), scrubbing
 * `secrets` from every line. `role` names the process on each line (API and worker lines of one job side by side).
 */
export function createLogger(config: Pick<AppConfig, 'log'>, options: { secrets?: string[]; role?: string } = {}): AppLogger {
  return new AppLogger({
    level: config.log.level,
    json: config.log.json,
    secrets: options.secrets,
    base: options.role ? { role: options.role } : undefined,
  });
}

/**
 * Builds the Nest application for `config` (used by main.ts and by the tests,
 * so both run exactly the same wiring). The caller decides when to listen and
 * handles signals (main.ts closes the app, then the embedded database).
 */
export interface CreateAppOptions {
  /** Default: createLogger(config). An AppLogger passed here learns SHARED_KEY and OPENAI_API_KEY as secrets. */
  logger?: LoggerService | false;
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
  const logger = options.logger === undefined ? createLogger(config, { role: config.role }) : options.logger;
  // A development key generated at start is printed on purpose (a newcomer signs requests with it): not a secret to scrub.
  if (logger instanceof AppLogger) logger.addSecrets(config.auth.generated ? undefined : config.auth.sharedKey, config.openai.apiKey);
  const app = await NestFactory.create<NestExpressApplication>(root, {
    logger,
    bodyParser: false, // one parser of our own, below: the body is parsed once, from the bytes the signature covers
  });
  // Request id, log scope, server span and access log before anything can answer.
  const metrics = app.get(MetricsService);
  app.use(requestLoggingMiddleware({ onFinish: (request) => metrics.observeHttp(request) }));
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
