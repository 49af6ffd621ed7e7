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

/** Requires an HMAC signature over `subject`. */
export const Signed = (subject: SignedSubject) => SetMetadata(SIGNED_SUBJECT, subject);

/** Marks a route that needs no signature (health probes, docs, metrics). */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
