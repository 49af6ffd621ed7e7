import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ERROR_TITLES, ErrorCode } from '../../common/errors/error-code.js';
import { ErrorResponseDto, NotCancellableDto } from './job-responses.dto.js';

/** One documented error answer: its status, code, message and details as the API really sends them. */
interface ErrorExample {
  status: number;
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

const JOB_ID = '550e8400-e29b-41d4-a716-446655440000';

/** Every error the jobs routes answer with, keyed for reuse by the route decorators. */
export const ERROR_EXAMPLES = {
  invalidJson: { status: 400, code: ErrorCode.InvalidJson, message: 'Request body must be valid JSON' },
  validation: {
    status: 400,
    code: ErrorCode.ValidationFailed,
    message: 'lots.0.lot_id: is required and must be a non-empty string',
    details: { problems: ['lots.0.lot_id: is required and must be a non-empty string'] },
  },
  missingSignature: { status: 401, code: ErrorCode.MissingSignature, message: 'Missing HMAC signature: send it in the X-Signature header' },
  invalidSignature: { status: 403, code: ErrorCode.InvalidSignature, message: 'Invalid HMAC signature' },
  jobNotFound: { status: 404, code: ErrorCode.JobNotFound, message: `Job ${JOB_ID} not found` },
  duplicateLotId: {
    status: 409,
    code: ErrorCode.DuplicateLotId,
    message: 'Duplicate lot_id in one request: batch-001',
    details: { duplicates: ['batch-001'] },
  },
  jsonTooDeep: {
    status: 400,
    code: ErrorCode.JsonTooDeep,
    message: 'Request body nests arrays and objects deeper than 64 levels',
    details: { max_depth: 64 },
  },
  payloadTooLarge: {
    status: 413,
    code: ErrorCode.PayloadTooLarge,
    message: 'Request body holds more than 3,000,000 JSON values',
    details: { max_values: 3_000_000 },
  },
  unsupportedMediaType: {
    status: 415,
    code: ErrorCode.UnsupportedMediaType,
    message: 'charset utf-7 is not accepted: JSON bodies must be UTF-8',
    details: { content_type: 'application/json; charset=utf-7' },
  },
  batchSize: {
    status: 413,
    code: ErrorCode.BatchSizeExceeded,
    message: 'Batch size exceeds maximum limit of 50,000 lots',
    details: { provided_lots: 75000, max_allowed: 50000 },
  },
  invalidImageUrls: {
    status: 422,
    code: ErrorCode.InvalidImageUrls,
    message: 'Invalid image URLs detected: only absolute http(s) URLs are accepted',
    details: { invalid_urls: ['ftp://example.com/car.jpg', 'not a url'] },
  },
  invalidWebhook: {
    status: 422,
    code: ErrorCode.InvalidWebhookUrl,
    message: 'Invalid webhook URL: only absolute http(s) URLs are accepted',
    details: { invalid_urls: ['javascript:alert(1)'] },
  },
  unsupportedLanguage: {
    status: 422,
    code: ErrorCode.UnsupportedLanguage,
    message: 'Unsupported language codes: xx, klingon',
    details: { unsupported: ['xx', 'klingon'] },
  },
  tooManyLanguages: {
    status: 422,
    code: ErrorCode.TooManyLanguages,
    message: 'At most 10 languages per request',
    details: { provided_languages: 12, max_allowed: 10 },
  },
  tooManyImages: {
    status: 422,
    code: ErrorCode.TooManyImages,
    message: 'A synchronous request accepts at most 20 images per lot; use batch mode for more',
    details: { lot_id: 'sync-12345', provided_images: 25, max_allowed: 20 },
  },
  rateLimited: {
    status: 429,
    code: ErrorCode.RateLimitExceeded,
    message: 'Rate limit exceeded: at most 1000 polling requests per 60 seconds',
    details: { limit: 1000, window_seconds: 60, retry_after: 17, scope: 'polling' },
  },
  idempotencyKeyInFlight: {
    status: 409,
    code: ErrorCode.IdempotencyKeyInFlight,
    message: 'A request with this Idempotency-Key is still being processed; retry later',
    details: { retry_after: 1 },
  },
  idempotencyKeyReused: {
    status: 422,
    code: ErrorCode.IdempotencyKeyReused,
    message: 'This Idempotency-Key was already used for another request (another method, path or body)',
  },
  openAiError: {
    status: 502,
    code: ErrorCode.OpenAiApiError,
    message: 'OpenAI API request failed',
    details: { openai_error: 'Model overloaded', retry_after: 60 },
  },
  busy: {
    status: 503,
    code: ErrorCode.ServiceUnavailable,
    message: 'Too many large bodies are being parsed; retry shortly',
  },
  openAiTimeout: {
    status: 504,
    code: ErrorCode.OpenAiTimeout,
    message: 'The synchronous request did not finish within 300 seconds',
    details: { deadline_seconds: 300, job_id: JOB_ID },
  },
  jobStateConflict: {
    status: 409,
    code: ErrorCode.JobStateConflict,
    message: 'Only an active job can be paused; this one is completed',
    details: { status: 'completed' },
  },
  lotsNotRetryable: {
    status: 422,
    code: ErrorCode.ValidationFailed,
    message: 'Lots not in this job: lot-99',
    details: { unknown_lot_ids: ['lot-99'], not_failed_lot_ids: [] },
  },
} satisfies Record<string, ErrorExample>;

/** Every code the signature check can answer with (seed HMAC and RFC 9421 schemes), listed in the 401/403 descriptions. */
const AUTH_401_CODES = ['MISSING_SIGNATURE', 'MALFORMED_SIGNATURE', 'SIGNATURE_EXPIRED', 'SIGNATURE_REPLAYED'];
const AUTH_403_CODES = ['INVALID_SIGNATURE', 'UNKNOWN_KEY', 'CONTENT_DIGEST_MISMATCH', 'SIGNATURE_SCHEME_DISABLED'];

const DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed JSON or missing/ill-typed fields',
  401:
    'No usable signature; the answer carries `Accept-Signature` when the RFC 9421 scheme is available. `code` is one of ' +
    AUTH_401_CODES.map((code) => `\`${code}\``).join(', '),
  403: 'Signature refused. `code` is one of ' + AUTH_403_CODES.map((code) => `\`${code}\``).join(', '),
  404: 'No such job for this client',
  409: 'Conflict',
  413: 'Too many lots, or a body past the size, value-count or parsing-memory limits',
  415: 'Not JSON in UTF-8 (answered before the signature is checked)',
  422: 'Values that are well-formed but not acceptable',
  429: 'Rate limit exceeded; see Retry-After (every answer of a limited route carries RateLimit-Policy and RateLimit)',
  503: 'Temporarily unable to take the request; see Retry-After',
  502: 'OpenAI answered with an error',
  504: 'The synchronous deadline passed',
};

/** Documents error answers with real bodies, one OpenAPI example per code, grouped by status. */
export function ApiErrors(...examples: ErrorExample[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ErrorExample[]>();
  for (const example of examples) byStatus.set(example.status, [...(byStatus.get(example.status) ?? []), example]);
  return applyDecorators(
    ...[...byStatus].map(([status, list]) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Error',
        type: ErrorResponseDto,
        examples: Object.fromEntries(
          list.map((example) => [
            example.code,
            {
              summary: example.code,
              value: {
                error: ERROR_TITLES[example.code],
                message: example.message,
                code: example.code,
                ...(example.details ? { details: example.details } : {}),
              },
            },
          ]),
        ),
      }),
    ),
  );
}

/** The signature errors of every signed route (the RFC 9421 codes are listed in the 401/403 descriptions). */
export const SIGNATURE_ERRORS = [ERROR_EXAMPLES.missingSignature, ERROR_EXAMPLES.invalidSignature];

/** The errors every signed, rate-limited route can answer with. */
export const AUTH_ERRORS = [...SIGNATURE_ERRORS, ERROR_EXAMPLES.rateLimited];

/** What the body middleware answers on any request that carries a body, before the route runs (src/common/body). */
export const BODY_ERRORS = [ERROR_EXAMPLES.invalidJson, ERROR_EXAMPLES.payloadTooLarge, ERROR_EXAMPLES.unsupportedMediaType];

/**
 * 400 of the cancel route: the job is no longer cancellable (reference 002's body plus `code`),
 * or a body the middleware refuses as JSON.
 */
export const ApiNotCancellable = () =>
  applyDecorators(
    ApiExtraModels(NotCancellableDto, ErrorResponseDto),
    ApiResponse({
      status: 400,
      description: 'The job is already completed, failed or cancelled (`JOB_NOT_CANCELLABLE`), or the request body is not valid JSON',
      schema: { anyOf: [{ $ref: getSchemaPath(NotCancellableDto) }, { $ref: getSchemaPath(ErrorResponseDto) }] },
      examples: {
        [ErrorCode.JobNotCancellable]: {
          summary: ErrorCode.JobNotCancellable,
          value: {
            error: 'Job cannot be cancelled',
            status: 'completed',
            message: 'Only pending, processing, or translating jobs can be cancelled. Current status: completed',
            code: ErrorCode.JobNotCancellable,
          },
        },
        [ErrorCode.InvalidJson]: {
          summary: ErrorCode.InvalidJson,
          value: { error: ERROR_TITLES[ErrorCode.InvalidJson], message: ERROR_EXAMPLES.invalidJson.message, code: ErrorCode.InvalidJson },
        },
      },
    }),
  );
