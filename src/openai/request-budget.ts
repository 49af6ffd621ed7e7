import { Global, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { AppConfig } from '../config/app-config.js';
import { DatabaseOutageMonitor } from '../database/database-outage.js';
import { waitMs } from '../common/retry/index.js';

/** Where the gateway takes one request's worth of the OpenAI rate limit before a direct call. */
export interface RequestBudget {
  /** Resolves (with the milliseconds waited) when a request may start; rejects with `signal.reason` when aborted while waiting. */
  take(signal?: AbortSignal): Promise<number>;
}
export const OPENAI_REQUEST_BUDGET = Symbol('OPENAI_REQUEST_BUDGET');

const TABLE = 'openai_request_budget';

/**
 * OPENAI_MAX_RPM for the whole deployment (OpenAI's limits are per
 * organisation, not per replica): `rate-limiter-flexible` counting in
 * PostgreSQL (table from a migration), a fixed one-minute window of
 * OPENAI_MAX_RPM requests plus a one-second window of a sixtieth of it, so
 * a minute's allowance never leaves as one burst. Every process on the
 * database shares the same two counters; concurrency and 429 pauses stay
 * per process (the gateway's RateLimiter).
 */
@Injectable()
export class PostgresRequestBudget implements RequestBudget, OnApplicationShutdown {
  private readonly pool: pg.Pool;
  private readonly windows: RateLimiterPostgres[];

  constructor(config: AppConfig, outage: DatabaseOutageMonitor) {
    this.pool = new pg.Pool({
      connectionString: config.database.url,
      max: 2,
      application_name: `generation-service:rpm`,
      connectionTimeoutMillis: 5000,
    });
    // An idle client whose server went away emits 'error': without a listener that would crash the process.
    this.pool.on('error', (error) => outage.failed(error));
    const rpm = config.openai.maxRpm;
    const common = { storeClient: this.pool, storeType: 'pool', tableName: TABLE, tableCreated: true, clearExpiredByTimeout: true };
    this.windows = [
      new RateLimiterPostgres({ ...common, keyPrefix: 'openai-rps', points: Math.max(1, Math.ceil(rpm / 60)), duration: 1 }),
      new RateLimiterPostgres({ ...common, keyPrefix: 'openai-rpm', points: rpm, duration: 60 }),
    ];
  }

  async take(signal?: AbortSignal): Promise<number> {
    const started = Date.now();
    for (const window of this.windows) {
      for (;;) {
        if (signal?.aborted) throw signal.reason;
        try {
          await window.consume('responses');
          break;
        } catch (refused) {
          if (!(refused instanceof RateLimiterRes)) throw refused; // the store failed: a database error
          await waitMs(Math.max(5, refused.msBeforeNext), signal);
        }
      }
    }
    return Date.now() - started;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * The deployment-wide budget where the application has its database (AppModule
 * imports it next to DatabaseModule). Global and optional for the gateway: a
 * gateway wired without a database (tools, tests) paces OPENAI_MAX_RPM itself.
 */
@Global()
@Module({
  providers: [{ provide: OPENAI_REQUEST_BUDGET, useClass: PostgresRequestBudget }],
  exports: [OPENAI_REQUEST_BUDGET],
})
export class RequestBudgetModule {}
