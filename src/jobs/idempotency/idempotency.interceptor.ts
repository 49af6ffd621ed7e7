import { createHash } from 'node:crypto';
import { Injectable, Logger, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Response } from 'express';
import { catchError, concatMap, from, of, throwError, type Observable } from 'rxjs';
import type { AuthenticatedRequest } from '../../auth/api-client.js';
import { Clock } from '../../common/clock.js';
import { ApiException } from '../../common/errors/api-exception.js';
import { ErrorCode } from '../../common/errors/error-code.js';
import { errorText } from '../../common/errors/error-text.js';
import { AppConfig } from '../../config/app-config.js';
import { IDEMPOTENCY_KEY_HEADER, parseIdempotencyKey } from './idempotency-key.js';
import { IdempotencyStore, type StoredAnswer } from './idempotency.store.js';

/** Set on an answer that repeats the stored one instead of running the request again. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';
/** Seconds a client is told to wait before asking again about a key still in flight. */
export const IN_FLIGHT_RETRY_AFTER_SECONDS = 1;
/** Answer headers worth repeating on a replay (the body and status are always repeated). */
const REPLAYED_HEADERS = ['location', 'content-location'];
/** Expired rows deleted per purge; a full batch means more are waiting, so the next claim purges again. */
const PURGE_BATCH = 1000;
const PURGE_INTERVAL_MS = 60_000;

/**
 * `Idempotency-Key` (IETF httpapi draft) on the routes marked @Idempotent().
 * An interceptor, so it runs after the guards: unauthenticated or
 * rate-limited requests never touch `idempotency_keys`.
 *
 * - no header: the request runs as usual;
 * - a new key (per client: A's key never meets B's): it is claimed for this
 *   request — method, path and raw body bytes, hashed — and the request runs;
 *   a 2xx answer is stored, anything else (4xx, 5xx, an exception) gives the
 *   key up, so the client may retry with it;
 * - the same key and request again after a 2xx: the stored status and body,
 *   with `Idempotent-Replayed: true`, and nothing runs;
 * - the same key with another request: 422 IDEMPOTENCY_KEY_REUSED;
 * - while the first attempt runs: 409 IDEMPOTENCY_KEY_IN_FLIGHT with
 *   Retry-After. An attempt holds the key for a lease (the synchronous
 *   deadline plus a margin); when the lease has run out the attempt is
 *   taken as dead and the same request may take the key over.
 *
 * Keys are kept IDEMPOTENCY_TTL_HOURS (24 h by default); an expired key is
 * treated as absent, and expired rows are purged in small batches as claims
 * come in.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger(IdempotencyInterceptor.name);
  private nextPurgeAt = 0;

  constructor(
    private readonly store: IdempotencyStore,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const response = context.switchToHttp().getResponse<Response>();
    const key = parseIdempotencyKey(request.headers[IDEMPOTENCY_KEY_HEADER.toLowerCase()]);
    if (key === undefined) return next.handle();
    const clientId = request.client?.id;
    if (!clientId) throw new Error('No authenticated client on an idempotent route');

    const now = this.clock.now();
    const { ttlMs, leaseMs } = this.config.jobs.idempotency;
    const outcome = await this.store.claim({ clientId, key, fingerprint: fingerprintOf(request), now, leaseMs, ttlMs });
    this.purgeSometimes(now);
    switch (outcome.kind) {
      case 'reused':
        throw new ApiException(
          422,
          ErrorCode.IdempotencyKeyReused,
          'This Idempotency-Key was already used for another request (another method, path or body)',
        );
      case 'in-flight':
        throw new ApiException(
          409,
          ErrorCode.IdempotencyKeyInFlight,
          'A request with this Idempotency-Key is still being processed; retry later',
          { retry_after: IN_FLIGHT_RETRY_AFTER_SECONDS },
          { 'Retry-After': String(IN_FLIGHT_RETRY_AFTER_SECONDS) },
        );
      case 'completed':
        return of(replay(response, outcome.answer));
      case 'claimed':
        break;
    }

    const { lockedUntil } = outcome;
    return next.handle().pipe(
      concatMap(async (body: unknown) => {
        const status = response.statusCode;
        if (status >= 200 && status < 300) {
          const answer: StoredAnswer = {
            status,
            body: body === undefined || body === null ? null : jsonBytes(body),
            headers: kept(response),
          };
          await this.storeQuietly(clientId, key, lockedUntil, answer);
        } else {
          await this.releaseQuietly(clientId, key, lockedUntil);
        }
        return body;
      }),
      catchError((error: unknown) => from(this.releaseQuietly(clientId, key, lockedUntil)).pipe(concatMap(() => throwError(() => error)))),
    );
  }

  /**
   * The work is done: the client gets its answer even if storing it fails
   * (the key then stays in flight until its lease ends, and a retry after
   * that runs again — the one case where a key does not prevent a repeat).
   */
  private async storeQuietly(clientId: string, key: string, lockedUntil: Date, answer: StoredAnswer): Promise<void> {
    try {
      if (!(await this.store.complete(clientId, key, lockedUntil, answer))) {
        this.logger.warn(`an Idempotency-Key of client ${clientId} was taken over before its first attempt finished`);
      }
    } catch (error) {
      this.logger.error(`storing the answer of an Idempotency-Key of client ${clientId} failed: ${errorText(error)}`);
    }
  }

  /** After a failed attempt: the request's own error is what the client must see, not one of the release. */
  private async releaseQuietly(clientId: string, key: string, lockedUntil: Date): Promise<void> {
    try {
      await this.store.release(clientId, key, lockedUntil);
    } catch (error) {
      this.logger.warn(
        `releasing an Idempotency-Key of client ${clientId} failed (it frees itself when its lease ends): ${errorText(error)}`,
      );
    }
  }

  /** At most once a minute per process, or again at once while a full batch came back. Never fails the request. */
  private purgeSometimes(now: number): void {
    if (now < this.nextPurgeAt) return;
    this.nextPurgeAt = now + PURGE_INTERVAL_MS;
    this.store.purgeExpired(now, PURGE_BATCH).then(
      (deleted) => {
        if (deleted === PURGE_BATCH) this.nextPurgeAt = 0;
      },
      (error: unknown) => this.logger.warn(`purging expired idempotency keys failed: ${errorText(error)}`),
    );
  }
}

/** SHA-256 over method, path (with query) and the body bytes as received. */
function fingerprintOf(request: AuthenticatedRequest): Buffer {
  return createHash('sha256')
    .update(`${request.method}\n${request.originalUrl}\n`)
    .update(request.rawBody ?? Buffer.alloc(0))
    .digest();
}

function jsonBytes(body: unknown): Buffer {
  return Buffer.from(JSON.stringify(body), 'utf8');
}

function kept(response: Response): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of REPLAYED_HEADERS) {
    const value = response.getHeader(name);
    if (typeof value === 'string') headers[name] = value;
  }
  return headers;
}

/** Sets the stored status and headers; the body goes out through Nest like the original did. */
function replay(response: Response, answer: StoredAnswer): unknown {
  response.status(answer.status);
  response.set({ ...answer.headers, [IDEMPOTENT_REPLAYED_HEADER]: 'true' });
  return answer.body === null ? undefined : (JSON.parse(answer.body.toString('utf8')) as unknown);
}
