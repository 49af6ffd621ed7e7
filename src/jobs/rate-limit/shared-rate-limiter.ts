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

interface Lease {
  window: number;
  /** Requests this process may still allow without asking the database. */
  unspent: number;
  /** The shared count when the lease was taken (capped at the limit). */
  counted: number;
  /** The shared count had reached the limit: nothing more to lease in this window. */
  exhausted: boolean;
}

/** How many requests a process takes from the shared count at once: 1 below 100 per window (exact), 2 % of the budget above. */
export function leaseSize(limit: number): number {
  return limit < 100 ? 1 : Math.floor(limit / 50);
}

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
 * - allowed: a round trip per *lease*, not per request. A process takes
 *   `leaseSize(limit)` requests of a budget at once (one atomic
 *   INSERT … ON CONFLICT DO UPDATE … RETURNING adds them to the shared
 *   count; past the limit it gets only what was left) and spends them from
 *   memory. The shared count never exceeds the limit, so a client never gets
 *   more than its budget across all replicas; what a replica leased but did
 *   not spend is lost to the other replicas for that window, so a client
 *   spread over N replicas may be refused up to (N − 1) × lease early. Up to
 *   99 requests per window the lease is 1: those budgets are exact. At
 *   1,000 per minute (polling) it is 20 — one database trip per 20 polls;
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
  /** Requests leased from the shared count and not yet spent, per budget row (`scope:client:window`). */
  private readonly leases = new Map<string, Lease>();

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

  /**
   * Counts one request of `client` (an id) against its `limit` per `windowMs` in `scope`. Synchronous while this
   * process holds an unspent lease (or knows the budget spent); a promise when it must ask the shared count.
   */
  consume(scope: RateScope, client: string, limit: number, windowMs: number): RateDecision | Promise<RateDecision> {
    const now = this.clock.now();
    const window = Math.floor(now / windowMs);
    const resetMs = Math.max(1, (window + 1) * windowMs - now);
    if (limit <= 0) return { allowed: false, limit, remaining: 0, resetMs };

    const key = `${client}:${window}`;
    const leaseKey = `${scope}:${limit}:${key}`;
    const lease = this.leases.get(leaseKey);
    if (lease && lease.unspent > 0) {
      lease.unspent--;
      return { allowed: true, limit, remaining: Math.max(0, limit - lease.counted) + lease.unspent, resetMs };
    }
    if (lease?.exhausted) return { allowed: false, limit, remaining: 0, resetMs };
    return this.lease(scope, limit, windowMs, { window, key, leaseKey, resetMs });
  }

  /** Takes a new lease from the shared count (or the insurance limiter while the database is down). */
  private async lease(
    scope: RateScope,
    limit: number,
    windowMs: number,
    { window, key, leaseKey, resetMs }: { window: number; key: string; leaseKey: string; resetMs: number },
  ): Promise<RateDecision> {
    const { store, insurance } = this.limiterFor(scope, limit, windowMs);
    const size = leaseSize(limit);
    const options = { customDuration: resetMs / 1000 };
    let counted: number;
    try {
      counted = (this.outage.down ? await insurance.consume(key, size, options) : await store.consume(key, size, options)).consumedPoints;
    } catch (refused) {
      if (!(refused instanceof RateLimiterRes)) throw refused; // neither the store nor the insurance could answer: not a refusal
      counted = refused.consumedPoints;
    }
    // Of the `size` just added, those that fit under the limit are this process's to spend.
    const granted = Math.max(0, Math.min(size, limit - (counted - size)));
    this.sweep(window);
    this.leases.set(leaseKey, {
      window,
      unspent: Math.max(0, granted - 1),
      counted: Math.min(counted, limit),
      exhausted: counted >= limit,
    });
    if (granted === 0) return { allowed: false, limit, remaining: 0, resetMs };
    return { allowed: true, limit, remaining: Math.max(0, limit - Math.min(counted, limit)) + granted - 1, resetMs };
  }

  /** Forgets leases of windows that have ended (a few per client at most; swept when a new lease is taken). */
  private sweep(window: number): void {
    if (this.leases.size < 1024) return;
    for (const [key, lease] of this.leases) if (lease.window < window) this.leases.delete(key);
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
