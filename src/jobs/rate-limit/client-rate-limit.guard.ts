import { Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import type { AuthenticatedRequest } from '../../auth/api-client.js';
import { ApiException } from '../../common/errors/api-exception.js';
import { ErrorCode } from '../../common/errors/error-code.js';
import { rateLimitHeaders, resetSeconds } from './rate-limit-headers.js';
import { RateLimitPolicy, type RateScope } from './rate-limit-policy.js';
import { SharedRateLimiter, type RateDecision } from './shared-rate-limiter.js';

export type { RateScope } from './rate-limit-policy.js';
type RouteKind = 'generate' | 'polling';

const RATE_KIND = 'jobs:rate-kind';
/** On the generate route: one lot counts against `sync`, anything else against `batch`. */
export const GenerateRateLimit = () => SetMetadata(RATE_KIND, 'generate' satisfies RouteKind);
/** On every other jobs route: one `polling` budget shared by all of them. */
export const PollingRateLimit = () => SetMetadata(RATE_KIND, 'polling' satisfies RouteKind);

function scopeOf(kind: RouteKind, request: AuthenticatedRequest): RateScope {
  if (kind === 'polling') return 'polling';
  // A dry run stores and spends nothing: it is a read, like polling (issue 13).
  if ((request.body as { dry_run?: unknown } | undefined)?.dry_run === true) return 'polling';
  const lots = (request.body as { lots?: unknown } | undefined)?.lots;
  // Malformed bodies count as batch, so junk cannot bypass the tighter budget.
  return Array.isArray(lots) && lots.length === 1 ? 'sync' : 'batch';
}

/**
 * Per-client rate limits (reference 002: sync 100, batch creation 10,
 * polling 1000 per minute; configurable, with per-client overrides, see
 * RateLimitPolicy), counted for the whole deployment in PostgreSQL
 * (SharedRateLimiter). Bound with @UseGuards, so it runs after the global
 * authentication guard: the budget belongs to the authenticated client,
 * never to an IP (clients behind one NAT do not share a budget), and
 * unauthenticated junk never consumes anyone's budget.
 *
 * Every answer of a limited route carries `RateLimit-Policy` and `RateLimit`
 * (draft-ietf-httpapi-ratelimit-headers); a 429 also `Retry-After`.
 *
 * Written rather than taken from @nestjs/throttler: that package is CommonJS
 * requiring the ESM-only @nestjs/common 12, which Jest's ESM mode cannot load.
 */
@Injectable()
export class ClientRateLimitGuard implements CanActivate {
  /** Each handler's kind, read once (metadata is fixed once the application is built). */
  private readonly kinds = new WeakMap<object, RouteKind>();

  constructor(
    private readonly reflector: Reflector,
    private readonly policy: RateLimitPolicy,
    private readonly limiter: SharedRateLimiter,
  ) {}

  /** Synchronous while the process holds a lease of the client's budget (most polls). */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const kind = this.kindOf(context);
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const scope = scopeOf(kind, request);
    const limit = this.policy.limitFor(request.client, scope);
    const windowMs = this.policy.windowMs;
    const decision = this.limiter.consume(scope, request.client?.id ?? `ip:${request.ip}`, limit, windowMs);
    return decision instanceof Promise
      ? decision.then((decided) => this.decide(context, scope, limit, windowMs, decided))
      : this.decide(context, scope, limit, windowMs, decision);
  }

  private decide(context: ExecutionContext, scope: RateScope, limit: number, windowMs: number, decision: RateDecision): boolean {
    const headers = rateLimitHeaders(scope, decision, windowMs);
    if (decision.allowed) {
      context.switchToHttp().getResponse<Response>().set(headers);
      return true;
    }

    const windowSeconds = Math.round(windowMs / 100) / 10;
    const retryAfter = resetSeconds(decision);
    throw new ApiException(
      429,
      ErrorCode.RateLimitExceeded,
      `Rate limit exceeded: at most ${limit} ${scope} requests per ${windowSeconds} seconds`,
      { scope, limit, window_seconds: windowSeconds, retry_after: retryAfter },
      { ...headers, 'Retry-After': String(retryAfter) },
    );
  }

  private kindOf(context: ExecutionContext): RouteKind {
    const handler = context.getHandler();
    let kind = this.kinds.get(handler);
    if (!kind) {
      kind = this.reflector.getAllAndOverride<RouteKind | undefined>(RATE_KIND, [handler, context.getClass()]);
      if (!kind) throw new Error(`${context.getClass().name}.${handler.name} has no rate-limit kind`);
      this.kinds.set(handler, kind);
    }
    return kind;
  }
}
