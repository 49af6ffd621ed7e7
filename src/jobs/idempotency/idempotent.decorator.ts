import { applyDecorators, UseInterceptors } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { IDEMPOTENCY_KEY_HEADER } from './idempotency-key.js';
import { IdempotencyInterceptor } from './idempotency.interceptor.js';

/**
 * Makes a route honour `Idempotency-Key` (see IdempotencyInterceptor) and
 * documents the header. The route's @ApiErrors must list
 * ERROR_EXAMPLES.idempotencyKeyInFlight (409) and idempotencyKeyReused (422):
 * Swagger keeps one response per status, so they join the route's own list.
 */
export const Idempotent = () =>
  applyDecorators(
    UseInterceptors(IdempotencyInterceptor),
    ApiHeader({
      name: IDEMPOTENCY_KEY_HEADER,
      required: false,
      description:
        'Optional (IETF httpapi draft "The Idempotency-Key HTTP Header Field"): a unique key per operation, as a structured-field ' +
        'string of 1–255 printable ASCII characters, e.g. `"8e03978e-40d5-43e8-bc93-6894a57f9324"` (an unquoted key is accepted too; ' +
        'malformed → `400 VALIDATION_FAILED`). Kept per client for `IDEMPOTENCY_TTL_HOURS` (24 h). Retrying the same request with the ' +
        'same key after a 2xx answers that status and body again with `Idempotent-Replayed: true`, and does nothing new; the same key ' +
        'with another body → `422 IDEMPOTENCY_KEY_REUSED`; while the first request is still running → `409 IDEMPOTENCY_KEY_IN_FLIGHT` ' +
        'with `Retry-After`. A request that failed (4xx/5xx) frees its key.',
      schema: { type: 'string', example: '"8e03978e-40d5-43e8-bc93-6894a57f9324"' },
    }),
  );
