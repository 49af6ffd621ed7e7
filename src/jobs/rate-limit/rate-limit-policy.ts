import { Injectable } from '@nestjs/common';
import type { ApiClient } from '../../auth/api-client.js';
import { AppConfig } from '../../config/app-config.js';

/** The three budgets of reference 002's limits table. */
export type RateScope = 'sync' | 'batch' | 'polling';

/**
 * How many requests a client may make per scope and window: its own
 * override when the operator set one (`npm run clients -- limits`, carried
 * on `request.client.rateLimits`), else the configured default
 * (RATE_LIMIT_SYNC / _BATCH / _POLLING). The window is the same for all.
 */
@Injectable()
export class RateLimitPolicy {
  constructor(private readonly config: AppConfig) {}

  /** Requests per window; 0 refuses every request of the scope. */
  limitFor(client: ApiClient | undefined, scope: RateScope): number {
    const override = client?.rateLimits?.[scope];
    // An override that is not a non-negative integer is ignored rather than trusted (the default applies).
    if (override !== undefined && Number.isSafeInteger(override) && override >= 0) return override;
    return this.config.jobs.rateLimits[scope];
  }

  get windowMs(): number {
    return this.config.jobs.rateLimits.windowMs;
  }
}
