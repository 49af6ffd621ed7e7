import { Global, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config.js';
import { dataSourceOptions } from './data-source.js';
import { DatabaseOutageMonitor, TypeOrmNestLogger } from './database-outage.js';
import { instrumentPostgres } from './postgres-spans.js';
import { UnitOfWork } from './unit-of-work.js';

/** The outage monitor, global: every module that meets a connection error reports it here instead of logging it. */
@Global()
@Module({
  providers: [
    {
      provide: DatabaseOutageMonitor,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new DatabaseOutageMonitor({ url: config.database.url }),
    },
  ],
  exports: [DatabaseOutageMonitor],
})
export class DatabaseOutageModule implements OnApplicationShutdown {
  constructor(private readonly outage: DatabaseOutageMonitor) {}

  onApplicationShutdown(): void {
    this.outage.close();
  }
}

/**
 * The TypeORM connection, configured from AppConfig, and the UnitOfWork for
 * writes of several owners that commit together (global). Migrations run
 * before the app boots (see main.ts).
 */
@Module({})
export class DatabaseModule {
  static forRoot(): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      providers: [UnitOfWork],
      exports: [UnitOfWork],
      imports: [
        DatabaseOutageModule,
        TypeOrmModule.forRootAsync({
          imports: [DatabaseOutageModule],
          inject: [AppConfig, DatabaseOutageMonitor],
          useFactory: (config: AppConfig, outage: DatabaseOutageMonitor) => {
            // A span per query under the request's or the step's span — when tracing is on; otherwise the driver stays as it is.
            instrumentPostgres();
            return {
              ...dataSourceOptions(config.database.url, `generation-service:${config.role}`),
              // Through the application logger (JSON under LOG_JSON); connection failures through the outage monitor.
              logger: new TypeOrmNestLogger(outage),
              poolErrorHandler: (error: unknown) => outage.failed(error),
              // Fail fast at start-up instead of retrying for minutes; the orchestrator restarts us.
              retryAttempts: 2,
              retryDelay: 1000,
            };
          },
        }),
      ],
    };
  }
}
