import { randomUUID } from 'node:crypto';
import { Logger, type LoggerService, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import { Counter } from 'prom-client';
import { Clock } from '../../common/clock.js';
import { errorText } from '../../common/errors/error-text.js';
import { AppConfig } from '../../config/app-config.js';
import { MetricsRegistry } from '../../common/metrics/metrics-registry.module.js';

/** The channel of migration 1763791100000: payload = a job id, or `*` (a table was truncated). */
export const STATUS_CHANNEL = 'job_status_changed';
/** Payload prefix of `sync()` tokens: they go through the same channel, so they arrive after every earlier change. */
const SYNC_PREFIX = 'sync:';
export const STATUS_CACHE_MAX_ENTRIES = 10_000;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;
/** How long a new listener waits for its own test notification before it concludes notifications do not reach it. */
const PROBE_TIMEOUT_MS = 2_000;

interface Entry<V> {
  clientId: string;
  view: V;
  storedAt: number;
}

/** Where the cache listens and how much it keeps; `maxAgeMs` 0 turns it off. */
export interface StatusCacheOptions {
  url: string;
  maxAgeMs: number;
  maxEntries?: number;
  /** How long a new listener waits for its test notification (default 2 s). */
  probeTimeoutMs?: number;
}

/**
 * Each job's `GET /batch-status` answer, kept in memory between the job's
 * changes (issue 15: clients poll a job thousands of times for each change).
 *
 * Correct across replicas: one dedicated connection LISTENs on the channel the
 * triggers of migration 1763791100000 notify after every change of what the
 * answer shows, and a notification drops that job's entry. Rules:
 * - a read that began before an invalidation never stores its result after it
 *   (`begin()` takes the generation, `store()` keeps the result only if it is
 *   unchanged);
 * - while the listener is not connected nothing is served or stored: every
 *   request reads the database; on (re)connect everything is dropped, since
 *   notifications sent meanwhile were lost. It reconnects with backoff and logs
 *   one line when it goes and one when it is back;
 * - bounded: at most `maxEntries` (the oldest go first) and `maxAgeMs` each,
 *   a safety net should a notification ever be lost;
 * - `sync()` is the read-your-writes barrier: once it resolves, every change
 *   committed before it was called has been applied here (PostgreSQL delivers
 *   notifications in commit order).
 *
 * Keys are lower-case job ids, as PostgreSQL prints a uuid in notifications
 * (a client may poll an upper-case spelling). An entry holds the job owner's
 * client id: the caller answers another client's job exactly as an unknown
 * one. Not-found answers are never stored. Provided by JobsModule, so only in
 * processes that serve the API (`statusCacheProvider`).
 */
export class JobStatusCache<V = unknown> implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger: LoggerService = new Logger('StatusCache');
  private readonly options: Required<StatusCacheOptions>;
  private readonly counted: Record<'hit' | 'miss' | 'off', { inc(): void }>;
  private readonly entries = new Map<string, Entry<V>>();
  /** Sync tokens sent and not yet back. */
  private readonly waiters = new Map<string, () => void>();
  private client: pg.Client | undefined;
  private listening = false;
  private generation = 0;
  private reconnectMs = RECONNECT_MIN_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Set while the listener is down after having been wanted (its one "lost" line is logged). */
  private lostAt: number | undefined;
  private closed = false;

  constructor(
    registry: MetricsRegistry,
    private readonly clock: Clock,
    options: StatusCacheOptions,
    logger?: LoggerService,
  ) {
    this.options = { maxEntries: STATUS_CACHE_MAX_ENTRIES, probeTimeoutMs: PROBE_TIMEOUT_MS, ...options };
    if (logger) this.logger = logger;
    const lookups = new Counter({
      name: 'gs_status_cache_lookups_total',
      help: 'batch-status answers by where they came from: hit (memory), miss (database, then stored), off (database: cache disabled or listener down)',
      labelNames: ['result'],
      registers: [registry],
    });
    // Bound once: labelling per poll would hash the labels on the hot path.
    this.counted = { hit: lookups.labels('hit'), miss: lookups.labels('miss'), off: lookups.labels('off') };
  }

  get enabled(): boolean {
    return this.options.maxAgeMs > 0;
  }

  /** True while the listener is connected: only then are answers served from memory. */
  get active(): boolean {
    return this.listening;
  }

  get size(): number {
    return this.entries.size;
  }

  async onApplicationBootstrap(): Promise<void> {
    // Awaited once so the process serves from memory as soon as it listens; a failure leaves the cache off and retrying.
    if (this.enabled) await this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.goOff();
    await client?.end().catch(() => undefined);
  }

  /** The stored answer for a job (with its owner), or undefined: not stored, too old, or the cache is off. */
  lookup(jobId: string): Entry<V> | undefined {
    if (!this.listening) {
      this.counted.off.inc();
      return undefined;
    }
    const key = jobId.toLowerCase();
    const entry = this.entries.get(key);
    if (entry && this.clock.now() - entry.storedAt < this.options.maxAgeMs) {
      this.counted.hit.inc();
      return entry;
    }
    if (entry) this.entries.delete(key);
    this.counted.miss.inc();
    return undefined;
  }

  /** Taken before a database read whose result may be stored; undefined: the cache is off, do not store. */
  begin(): number | undefined {
    return this.listening ? this.generation : undefined;
  }

  /** Keeps a job's answer, unless something was invalidated since `ticket` was taken. True when stored. */
  store(ticket: number | undefined, jobId: string, clientId: string, view: V): boolean {
    if (ticket === undefined || ticket !== this.generation || !this.listening) return false;
    const key = jobId.toLowerCase();
    this.entries.delete(key); // re-inserted last: Map order is store order, so the first key is the oldest
    if (this.entries.size >= this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { clientId, view, storedAt: this.clock.now() });
    return true;
  }

  /** Drops one job (or everything) and fails every read in flight, so none stores what it read before. */
  invalidate(jobId?: string): void {
    this.generation++;
    if (jobId === undefined) this.entries.clear();
    else this.entries.delete(jobId.toLowerCase());
  }

  /**
   * Read-your-writes barrier: resolves once every change committed before the call has been applied (the token
   * notified now arrives after all of them). Off, there is nothing to wait for: every read goes to the database.
   */
  async sync(): Promise<void> {
    const client = this.client;
    if (!this.listening || !client) return;
    try {
      await this.roundTrip(client);
    } catch (error) {
      if (this.listening && this.client === client) throw error;
      // the listener went away meanwhile: the cache is off and empty
    }
  }

  private async connect(): Promise<void> {
    this.reconnectTimer = undefined;
    if (this.closed) return;
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: 'generation-service:status-cache',
      connectionTimeoutMillis: 5_000,
      keepAlive: true,
    });
    this.client = client;
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    client.on('notification', (message) => this.notified(message.payload ?? ''));
    try {
      await client.connect();
      await client.query(`LISTEN ${STATUS_CHANNEL}`);
      // A pooler in transaction mode (PgBouncer) accepts LISTEN and never delivers: serve from memory only once a
      // notification has made the round trip on this very connection.
      if (!(await this.roundTrip(client, this.options.probeTimeoutMs))) {
        throw new Error(`a test notification did not come back within ${this.options.probeTimeoutMs} ms (a pooler in transaction mode?)`);
      }
    } catch (error) {
      this.lost(client, error);
      return;
    }
    if (this.client !== client) return; // lost or shut down while connecting
    // Changes committed while nobody listened were never announced: start empty.
    this.invalidate();
    this.listening = true;
    this.reconnectMs = RECONNECT_MIN_MS;
    if (this.lostAt !== undefined) {
      this.logger.log(`status cache on again: listening after ${Math.round((this.clock.now() - this.lostAt) / 100) / 10} s`);
      this.lostAt = undefined;
    }
  }

  /**
   * Sends a token on the channel from `client` and waits for it to come back: true once it arrived (or the listener
   * went off, which releases every waiter), false when `timeoutMs` passed first.
   */
  private async roundTrip(client: pg.Client, timeoutMs?: number): Promise<boolean> {
    const token = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const arrived = new Promise<boolean>((resolve) => {
      this.waiters.set(token, () => resolve(true));
      if (timeoutMs !== undefined) timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      await client.query('SELECT pg_notify($1, $2)', [STATUS_CHANNEL, SYNC_PREFIX + token]);
      return await arrived;
    } finally {
      clearTimeout(timer);
      this.waiters.delete(token);
    }
  }

  private notified(payload: string): void {
    if (payload.startsWith(SYNC_PREFIX)) {
      const token = payload.slice(SYNC_PREFIX.length);
      this.waiters.get(token)?.();
      this.waiters.delete(token);
    } else {
      this.invalidate(payload === '*' ? undefined : payload);
    }
  }

  /** The listener failed or ended: off (every read goes to the database) until a reconnect succeeds. */
  private lost(client: pg.Client, error?: unknown): void {
    if (client !== this.client) return; // an earlier client, or the one shutdown closed
    this.goOff();
    void client.end().catch(() => undefined);
    if (this.closed) return;
    if (this.lostAt === undefined) {
      this.lostAt = this.clock.now();
      this.logger.warn(
        `status cache off: listener lost (${error ? errorText(error) : 'connection ended'}); every status read goes to the database until it is back`,
      );
    }
    this.reconnectTimer = setTimeout(() => void this.connect(), this.reconnectMs);
    this.reconnectTimer.unref();
    this.reconnectMs = Math.min(RECONNECT_MAX_MS, this.reconnectMs * 2);
  }

  private goOff(): void {
    this.client = undefined;
    this.listening = false;
    this.invalidate();
    for (const resolve of this.waiters.values()) resolve();
    this.waiters.clear();
  }
}

/** The cache as JobsModule provides it: STATUS_CACHE_MS, on the application's database. */
export const statusCacheProvider = {
  provide: JobStatusCache,
  inject: [AppConfig, MetricsRegistry, Clock],
  useFactory: (config: AppConfig, registry: MetricsRegistry, clock: Clock) =>
    new JobStatusCache(registry, clock, { url: config.database.url, maxAgeMs: config.jobs.statusCacheMs }),
};
