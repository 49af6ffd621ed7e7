import { SetMetadata } from '@nestjs/common';

/**
 * What a route's HMAC signature covers (SPEC §4):
 * - `lots`: the canonical JSON of the body's `lots` (seed scheme, body requests);
 * - `job_id`: the `job_id` route parameter (requests about one job);
 * - `query`: the raw query string as sent, without `?` (requests about no single job).
 */
export type SignedSubject = 'lots' | 'job_id' | 'query';

export const SIGNED_SUBJECT = 'hmac:signed-subject';
export const PUBLIC_ROUTE = 'hmac:public';
export const QUERY_PARAMETERS = 'hmac:query-parameters';

/** Requires an HMAC signature over `subject`. */
export const Signed = (subject: SignedSubject) => SetMetadata(SIGNED_SUBJECT, subject);

/**
 * The only query parameters a route accepts; any other is `400` before the
 * signature is even looked at. On a `@Signed('query')` route this keeps a
 * job-id or body signature from passing as a query signature (`?<job_id>`
 * signs exactly like the job id).
 */
export const QueryParameters = (names: readonly string[]) => SetMetadata(QUERY_PARAMETERS, names);

/** Marks a route that needs no signature (health probes, docs, metrics). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** Name of the OpenAPI security scheme of signed routes (Swagger UI's Authorize signs them). */
export const HMAC_SECURITY = 'hmac';
