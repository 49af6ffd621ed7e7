import type { ParsedBodyRequest } from '../common/body/json-body.middleware.js';

/** Per-client overrides of the per-minute budgets (`npm run clients -- limits`); unset scopes use the configured defaults. */
export interface RateLimitOverrides {
  sync?: number;
  batch?: number;
  polling?: number;
}

/** The caller a request was authenticated as. Every job belongs to exactly one. */
export interface ApiClient {
  id: string;
  /** The key that signed the request (`undefined` for the default client's SHARED_KEY). */
  keyId?: string;
  /** Which scheme authenticated it: the seed's `X-Signature` or RFC 9421 (v2). */
  scheme?: 'seed' | 'rfc9421';
  rateLimits?: RateLimitOverrides;
}

/** Id of the client that holds SHARED_KEY (row seeded by the initial migration). */
export const DEFAULT_CLIENT_ID = 'default';

/** A request the signature guard has authenticated; the raw and signed body come from the JSON body middleware. */
export interface AuthenticatedRequest extends ParsedBodyRequest {
  client?: ApiClient;
}
