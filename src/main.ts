import 'reflect-metadata';
import { ConsoleLogger, Logger } from '@nestjs/common';
import { logSettings, tracingSettings } from './config/app-config.js';
import { ConfigError, parseEnvironment } from './config/environment.js';
import { createApp, createLogger, listenAll } from './bootstrap/create-app.js';
import { resolveRuntime } from './bootstrap/runtime.js';
import { runMigrations } from './database/data-source.js';
import { WorkerTickService } from './worker/worker-tick.service.js';
import { startTracing } from './common/tracing/tracing.js';

/**
 * Starts the service: validates configuration, resolves the database and
 * OpenAI (embedded/offline when unset), migrates, and serves. SIGINT/SIGTERM
 * close the app first (the worker stops claiming at once, gives its steps
 * SHUTDOWN_GRACE_SECONDS and releases its claims), then whatever start-up
 * started — the embedded PostgreSQL last. A second signal stops at once.
 */
async function main(): Promise<void> {
  let env;
  try {
    env = parseEnvironment(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  // Before anything else starts, so that every span (HTTP, pipeline, OpenAI, webhooks) has a provider.
  const tracing = startTracing(tracingSettings(env));
  const logger = createLogger(
    { log: logSettings(env) },
    { secrets: [env.SHARED_KEY, env.OPENAI_API_KEY].filter((v) => v !== undefined), role: env.APP_ROLE },
  );
  // Lines written before the app exists (TypeORM's during migrations) through the same logger, not Nest's console one.
  Logger.overrideLogger(logger);
  const runtime = await resolveRuntime(env, logger);
  const { config } = runtime;
  // The generated development key is printed below on purpose; a configured one never appears.
  logger.addSecrets(config.auth.generated ? undefined : config.auth.sharedKey, config.openai.apiKey);
  if (tracing) logger.log(`tracing on: spans exported over OTLP/HTTP as service ${config.tracing.serviceName}`, 'Bootstrap');

  let closing = false;
  let app: Awaited<ReturnType<typeof createApp>> | undefined;
  const stop = async (signal: string) => {
    if (closing) {
      logger.warn(`${signal} received again: stopping without waiting for work in flight`, 'Bootstrap');
      await runtime.shutdown();
      process.exit(1);
    }
    closing = true;
    logger.log(`${signal} received: shutting down`, 'Bootstrap');
    // The worker first and at once: no new claims, steps finish or are abandoned within the grace, claims released.
    if (app && config.runsWorker)
      await app
        .get(WorkerTickService)
        .stop()
        .catch((error: unknown) => logger.error(String(error), 'Bootstrap'));
    await app?.close().catch((error: unknown) => logger.error(String(error), 'Bootstrap'));
    await runtime.shutdown();
    await tracing?.shutdown().catch((error: unknown) => logger.error(String(error), 'Bootstrap'));
    logger.log('stopped', 'Bootstrap');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  if (config.database.runMigrations) {
    await runMigrations(config.database.url, (line) => logger.log(line, 'Migrations'));
  }
  app = await createApp(config, { logger });
  const ports = await listenAll(app, config, '0.0.0.0');
  logger.log(
    `Generation Service (${config.role}) listening on http://localhost:${ports.port} — docs at /docs; ` +
      `management (detailed /health, /metrics) on port ${ports.managementPort}, for the cluster's inside only`,
    'Bootstrap',
  );
  if (config.auth.generated) {
    logger.warn(
      `SHARED_KEY is unset: using the development key kept in ${env.DATA_DIR}/shared-key:\n    ${config.auth.sharedKey}`,
      'Bootstrap',
    );
  }
}

main().catch((error: unknown) => {
  new ConsoleLogger().error(error instanceof Error ? (error.stack ?? error.message) : String(error), 'Bootstrap');
  process.exit(1);
});
