import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import { Clock } from '../../common/clock.js';
import { AppConfig } from '../../config/app-config.js';
import { DatabaseOutageMonitor } from '../../database/database-outage.js';
import type { RateScope } from './rate-limit-policy.js';

/** One request counted against a budget: whether it may run, and what the RateLimit headers say. */
export interface RateDecision {
  allowed: boolean;
  /** Requests per window for this client and scope. */
  limit: number;
  /** Requests still allowed in the current window (0 when refused). */
  remaining: number;
  /** Milliseconds until the current window ends and the budget is whole again (> 0). */
  resetMs: number;
}

const TABLE = 'client_rate_limits';

/**
 * The per-client budgets, shared by every API replica: `rate-limiter-flexible`'s
 * RateLimiterPostgres counting in `client_rate_limits` (from a migration).
 *
 * Windows are fixed and aligned to the epoch by the application Clock
 * (window n covers [n·w, (n+1)·w)), and the window number is part of the
 * row key: every replica counts into the same row, the RateLimit header's
 * reset is the same everywhere, and a test moves to the next window by
 * advancing a ManualClock. Each row expires when its window ends, so the
 * library's own expiry never cuts a window short.
 *
 * Cost per request:
 * - allowed: one round trip (an atomic INSERT … ON CONFLICT DO UPDATE … RETURNING);
 * - over budget: none. Once a process sees a key reach its limit, the
 *   library blocks the key in memory until the window ends
 *   (`inMemoryBlockOnConsumed` = the limit), so a client hammering a spent
 *   budget costs the database nothing;
 * - database down: none. Every limiter has an `insuranceLimiter`
 *   (RateLimiterMemory with the same budget) that answers when the store
 *   fails, and while the outage monitor knows the database is down the store
 *   is skipped altogether (no connection timeout per request). A database
 *   outage therefore degrades to per-process limits (N replicas allow up
 *   to N times the budget) instead of answering 500 on every route.
 *
 * A small pool of its own (like the OpenAI request budget): the hot polling
 * path never waits behind TypeORM's pool, and it fails fast.
 */
@Injectable()
export class SharedRateLimiter implements OnApplicationShutdown {
  private readonly pool: pg.Pool;
  /** One limiter per scope and limit (the library fixes `points` per instance); overrides are few. */
  private readonly limiters = new Map<string, { store: RateLimiterPostgres; insurance: RateLimiterMemory }>();

  constructor(
    config: AppConfig,
    private readonly clock: Clock,
    private readonly outage: DatabaseOutageMonitor,
  ) {
    this.pool = new pg.Pool({
      connectionString: config.database.url,
      max: 4,
      application_name: 'generation-service:rate-limits',
      connectionTimeoutMillis: 2000,
      query_timeout: 2000,
    });
    // An idle client whose server went away emits 'error': without a listener that would crash the process.
    this.pool.on('error', (error) => outage.failed(error));
  }

  /** Counts one request of `client` (an id) against its `limit` per `windowMs` in `scope`. */
  async consume(scope: RateScope, client: string, limit: number, windowMs: number): Promise<RateDecision> {
    const now = this.clock.now();
    const window = Math.floor(now / windowMs);
    const resetMs = Math.max(1, (window + 1) * windowMs - now);
    if (limit <= 0) return { allowed: false, limit, remaining: 0, resetMs };

    const { store, insurance } = this.limiterFor(scope, limit, windowMs);
    const key = `${client}:${window}`;
    const options = { customDuration: resetMs / 1000 };
    try {
      const res = this.outage.down ? await insurance.consume(key, 1, options) : await store.consume(key, 1, options);
      return { allowed: true, limit, remaining: res.remainingPoints, resetMs };
    } catch (refused) {
      if (refused instanceof RateLimiterRes) return { allowed: false, limit, remaining: 0, resetMs };
      throw refused; // neither the store nor the insurance could answer: not a refusal
    }
  }

  private limiterFor(scope: RateScope, limit: number, windowMs: number) {
    const id = `${scope}:${limit}:${windowMs}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      const common = { keyPrefix: `rl-${scope}`, points: limit, duration: windowMs / 1000 };
      const insurance = new RateLimiterMemory(common);
      const store = new RateLimiterPostgres({
        ...common,
        storeClient: this.pool,
        storeType: 'pool',
        tableName: TABLE,
        tableCreated: true,
        clearExpiredByTimeout: true,
        inMemoryBlockOnConsumed: limit,
        insuranceLimiter: insurance,
      });
      limiter = { store, insurance };
      this.limiters.set(id, limiter);
    }
    return limiter;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
