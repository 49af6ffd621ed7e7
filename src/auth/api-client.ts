import type { Request } from 'express';

/** The caller a request was authenticated as. Every job belongs to exactly one. */
export interface ApiClient {
  id: string;
}

/** Id of the client that holds SHARED_KEY (row seeded by the initial migration). */
export const DEFAULT_CLIENT_ID = 'default';

export interface AuthenticatedRequest extends Request {
  client?: ApiClient;
  /** The body exactly as received (decompressed): what the signature covers. Set by the JSON body middleware. */
  rawBody?: Buffer;
  /** From the same single parse as `body`: the seed signature's message and the body's `signature` field. */
  signedBody?: { canonicalLots: string; signatureField?: string | null };
}
