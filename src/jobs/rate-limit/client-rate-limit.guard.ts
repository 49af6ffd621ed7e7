import { Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { AuthenticatedRequest } from '../../auth/api-client.js';
import { ApiException } from '../../common/errors/api-exception.js';
import { ErrorCode } from '../../common/errors/error-code.js';
import { AppConfig } from '../../config/app-config.js';
import { FixedWindowCounter } from './fixed-window.counter.js';

/** The three budgets of reference 002's limits table. */
export type RateScope = 'sync' | 'batch' | 'polling';
type RouteKind = 'generate' | 'polling';

const RATE_KIND = 'jobs:rate-kind';
/** On the generate route: one lot counts against `sync`, anything else against `batch`. */
export const GenerateRateLimit = () => SetMetadata(RATE_KIND, 'generate' satisfies RouteKind);
/** On every other jobs route: one `polling` budget shared by all of them. */
export const PollingRateLimit = () => SetMetadata(RATE_KIND, 'polling' satisfies RouteKind);

function scopeOf(kind: RouteKind, request: AuthenticatedRequest): RateScope {
  if (kind === 'polling') return 'polling';
  const lots = (request.body as { lots?: unknown } | undefined)?.lots;
  // Malformed bodies count as batch, so junk cannot bypass the tighter budget.
  return Array.isArray(lots) && lots.length === 1 ? 'sync' : 'batch';
}

/**
 * Per-client rate limits (reference 002: sync 100, batch creation 10,
 * polling 1000 per minute; configurable). Bound with @UseGuards, so it runs
 * after the global HMAC guard: the budget belongs to the authenticated
 * client, never to an IP (clients behind one NAT do not share a budget), and
 * unauthenticated junk never consumes anyone's budget.
 *
 * Written rather than taken from @nestjs/throttler: that package is CommonJS
 * requiring the ESM-only @nestjs/common 12, which Jest's ESM mode cannot load.
 */
@Injectable()
export class ClientRateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly config: AppConfig,
    private readonly counter: FixedWindowCounter,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const kind = this.reflector.getAllAndOverride<RouteKind>(RATE_KIND, [context.getHandler(), context.getClass()]);
    if (!kind) throw new Error(`${context.getClass().name}.${context.getHandler().name} has no rate-limit kind`);
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const scope = scopeOf(kind, request);
    const { windowMs, [scope]: limit } = this.config.jobs.rateLimits;
    const { hits, resetInMs } = this.counter.hit(`${scope}:${request.client?.id ?? `ip:${request.ip}`}`, windowMs);
    if (hits <= limit) return true;

    const windowSeconds = Math.round(windowMs / 100) / 10;
    const retryAfter = Math.max(1, Math.ceil(resetInMs / 1000));
    throw new ApiException(
      429,
      ErrorCode.RateLimitExceeded,
      `Rate limit exceeded: at most ${limit} ${scope} requests per ${windowSeconds} seconds`,
      { scope, limit, window_seconds: windowSeconds, retry_after: retryAfter },
      { 'Retry-After': String(retryAfter) },
    );
  }
}
