import type { ParsedBodyRequest } from '../common/body/json-body.middleware.js';

/** The caller a request was authenticated as. Every job belongs to exactly one. */
export interface ApiClient {
  id: string;
}

/** Id of the client that holds SHARED_KEY (row seeded by the initial migration). */
export const DEFAULT_CLIENT_ID = 'default';

/** A request the HMAC guard has authenticated; the raw and signed body come from the JSON body middleware. */
export interface AuthenticatedRequest extends ParsedBodyRequest {
  client?: ApiClient;
}
