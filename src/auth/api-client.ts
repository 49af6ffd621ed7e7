import type { Request } from 'express';

/** The caller a request was authenticated as. Every job belongs to exactly one. */
export interface ApiClient {
  id: string;
}

/** Id of the client that holds SHARED_KEY (row seeded by the initial migration). */
export const DEFAULT_CLIENT_ID = 'default';

export interface AuthenticatedRequest extends Request {
  client?: ApiClient;
  rawBody?: Buffer;
}
