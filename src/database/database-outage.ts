import { Logger, type LoggerService } from '@nestjs/common';
import pg from 'pg';
import type { Logger as TypeOrmLogger } from 'typeorm';
import { errorText } from '../common/errors/error-text.js';
import { upstreamOf } from '../common/errors/upstream-error.js';

/** Between two "still unreachable" reminders while an outage lasts. */
export const OUTAGE_REMINDER_MS = 60_000;
/** How often a probe looks for the database to be back once it went away. */
const PROBE_INTERVAL_MS = 1_000;

/** SQLSTATE classes and codes that mean "no database", not "bad query": 08 connection exception, 57P admin shutdown/crash. */
const CONNECTION_SQLSTATE = /^(08|57P0[1-3])/;
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/**
 * The last one is TypeORM's: its query runner releases itself when its connection emits 'error' (the server went
 * away mid-transaction), and the transaction's next query then reports the release instead of the lost connection.
 */
const CONNECTION_MESSAGES =
  /Connection terminated|connection error|timeout exceeded when trying to connect|Client was closed|terminating connection|the database system is (starting up|shutting down)|Connection refused|connection provided by a query runner was already released/i;

/** True when `error` (a pg, TypeORM or socket error, possibly wrapped) says the database cannot be reached. */
export function isConnectionError(error: unknown): boolean {
  if (upstreamOf(error) !== undefined) return false; // OpenAI unreachable is not the database unreachable
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const candidate = current as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown; errors?: unknown[] };
    if (typeof candidate.code === 'string' && (CONNECTION_CODES.has(candidate.code) || CONNECTION_SQLSTATE.test(candidate.code)))
      return true;
    if (typeof candidate.message === 'string' && CONNECTION_MESSAGES.test(candidate.message)) return true;
    if (Array.isArray(candidate.errors) && candidate.errors.some((inner) => isConnectionError(inner))) return true; // AggregateError
    current = candidate.driverError ?? candidate.cause;
  }
  return false;
}

export interface OutageMonitorOptions {
  /** Where a probe connects to learn that the database is back. */
  url: string;
  logger?: LoggerService;
  now?: () => number;
  reminderMs?: number;
  probeIntervalMs?: number;
}

/**
 * Turns a database outage into three kinds of log lines instead of a stack
 * trace per failed query: one warning when it goes away, a reminder every
 * OUTAGE_REMINDER_MS while it stays away, one line when it is back (found by
 * a probe, so every role notices, not only workers). Every caller that meets
 * a connection error hands it here (`absorb`) rather than logging it.
 */
export class DatabaseOutageMonitor {
  private readonly logger: LoggerService;
  private readonly now: () => number;
  private downSince: number | undefined;
  private remindedAt = 0;
  private probe: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: OutageMonitorOptions) {
    this.logger = options.logger ?? new Logger('Database');
    this.now = options.now ?? Date.now;
  }

  get down(): boolean {
    return this.downSince !== undefined;
  }

  /** Reports `error` if it is a connection error (returns true: the caller logs nothing); false for any other error. */
  absorb(error: unknown): boolean {
    if (!isConnectionError(error)) return false;
    this.failed(error);
    return true;
  }

  failed(error: unknown): void {
    const now = this.now();
    if (this.downSince === undefined) {
      this.downSince = now;
      this.remindedAt = now;
      this.logger.warn(`database unreachable (${errorText(error)}); work pauses until it is back`);
      this.startProbe();
    } else if (now - this.remindedAt >= (this.options.reminderMs ?? OUTAGE_REMINDER_MS)) {
      this.remindedAt = now;
      this.logger.warn(`database still unreachable after ${Math.round((now - this.downSince) / 1000)} s (${errorText(error)})`);
    }
  }

  succeeded(): void {
    if (this.downSince === undefined) return;
    const seconds = Math.round((this.now() - this.downSince) / 100) / 10;
    this.downSince = undefined;
    this.stopProbe();
    this.logger.log(`database reachable again after ${seconds} s`);
  }

  close(): void {
    this.closed = true;
    this.stopProbe();
  }

  private startProbe(): void {
    if (this.probe || this.closed) return;
    this.probe = setInterval(() => void this.tryConnect(), this.options.probeIntervalMs ?? PROBE_INTERVAL_MS);
    this.probe.unref();
  }

  private stopProbe(): void {
    clearInterval(this.probe);
    this.probe = undefined;
  }

  private async tryConnect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.url, connectionTimeoutMillis: 2_000 });
    client.on('error', () => undefined); // a probe that fails says so by rejecting
    try {
      await client.connect();
      await client.query('SELECT 1');
      this.succeeded();
    } catch (error) {
      this.failed(error);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/**
 * TypeORM's log lines through the Nest application logger (so JSON under
 * LOG_JSON), connection failures through the outage monitor, when there is
 * one, instead of one "query failed" line per query. Every DataSource of the
 * service has one (dataSourceOptions): TypeORM never writes to the console.
 */
export class TypeOrmNestLogger implements TypeOrmLogger {
  private readonly logger = new Logger('TypeORM');

  /** `details`: TypeORM's informational lines (schema, migrations) at debug; without, only its warnings and errors. */
  constructor(
    private readonly outage?: DatabaseOutageMonitor,
    private readonly details = true,
  ) {}

  logQuery(): void {
    // Queries are not logged (LOG_LEVEL=DEBUG would drown in them).
  }

  logQueryError(error: string | Error, query: string): void {
    if (this.outage?.absorb(error)) return;
    this.logger.error(`query failed: ${query.replace(/\s+/g, ' ').slice(0, 500)} — ${errorText(error)}`);
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn(`slow query (${time} ms): ${query.replace(/\s+/g, ' ').slice(0, 500)}`);
  }

  logSchemaBuild(message: string): void {
    if (this.details) this.logger.debug?.(message);
  }

  logMigration(message: string): void {
    if (this.details) this.logger.log(message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') {
      if (this.outage?.absorb(message) || (typeof message === 'string' && this.outage?.absorb({ message }))) return;
      this.logger.warn(String(message));
    } else if (this.details) {
      this.logger.debug?.(String(message));
    }
  }
}
