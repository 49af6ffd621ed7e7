import { ConsoleLogger, type INestApplication, type LogLevel, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from '../app.module.js';
import type { AppConfig } from '../config/app-config.js';
import { setupSwagger } from './swagger.js';
import { createValidationPipe } from '../common/validation/validation.pipe.js';
import { ManagementServer } from '../management/management.server.js';
import { applyHttpHygiene } from './http-hygiene.js';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Largest accepted request body: 50,000 lots with several images each fit well within it. */
export const MAX_BODY_BYTES = 100 * 1024 * 1024;

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
}

export async function createApp(config: AppConfig, options: CreateAppOptions = {}): Promise<INestApplication> {
  const root = AppModule.forRoot(config);
  root.imports = [...(root.imports ?? []), ...(options.extraModules ?? [])];
  const app = await NestFactory.create<NestExpressApplication>(root, {
    logger: options.logger === undefined ? createLogger(config) : options.logger,
    rawBody: true, // the HMAC guard signs the body as sent
    bodyParser: false,
  });
  app.useBodyParser('json', { limit: MAX_BODY_BYTES });
  app.set('trust proxy', 'loopback');
  app.disable('x-powered-by');
  // API answers change with every poll and clients do not revalidate: hashing each body for an ETag is pure cost.
  app.set('etag', false);
  applyHttpHygiene(app, config);
  app.useGlobalPipes(createValidationPipe());
  setupSwagger(app);
  return app;
}

/**
 * Listens on the public port and on the management port (detailed health,
 * /metrics); either may be 0 (any free port). Resolves with the actual ports.
 */
export async function listenAll(app: INestApplication, ports: { port: number; managementPort: number }, host: string): Promise<{ port: number; managementPort: number }> {
  await app.listen(ports.port, host);
  const managementPort = await app.get(ManagementServer).listen(ports.managementPort, host);
  return { port: ((app.getHttpServer() as Server).address() as AddressInfo).port, managementPort };
}
