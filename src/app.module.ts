import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AuthModule } from './auth/auth.module.js';
import { BatchMonitorModule } from './batch-monitor/batch-monitor.module.js';
import type { Clock } from './common/clock.js';
import { ClockModule } from './common/clock.module.js';
import { AllExceptionsFilter } from './common/errors/all-exceptions.filter.js';
import { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { RequestBudgetModule } from './openai/request-budget.js';
import { HealthModule } from './health/health.module.js';
import { JobsModule } from './jobs/jobs.module.js';
import { ManagementModule } from './management/management.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { SamplesModule } from './samples/samples.module.js';
import { WebhooksApiModule, WebhooksModule } from './webhooks/webhooks.module.js';
import { WorkerCoreModule, WorkerModule } from './worker/worker.module.js';

/**
 * The application for one process role. `api` serves the HTTP API, `worker`
 * runs the background loop (and serves health only), `all` does both.
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: { clock?: Clock } = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule.forRoot(options.clock),
        DatabaseModule.forRoot(),
        RequestBudgetModule,
        AuthModule,
        WorkerCoreModule,
        HealthModule,
        MetricsModule,
        ManagementModule,
        WebhooksModule,
        ...(config.runsApi ? [JobsModule.register({ cancellationHook: WebhooksModule })] : []),
        ...(config.runsApi ? [WebhooksApiModule] : []),
        ...(config.runsApi && config.serveSamples ? [SamplesModule] : []),
        // The pipeline (stages, worker tasks) only where the worker runs; the API role never loads it.
        ...(config.runsWorker ? [BatchMonitorModule] : []),
        ...(config.runsWorker ? [WorkerModule] : []),
      ],
      providers: [{ provide: APP_FILTER, useClass: AllExceptionsFilter }],
    };
  }
}
