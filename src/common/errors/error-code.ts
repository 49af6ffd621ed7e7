/**
 * Every `code` the API can answer with. The values are part of the public
 * contract (reference 002): never rename one without a deprecation period.
 */
export enum ErrorCode {
  InvalidJson = 'INVALID_JSON',
  ValidationFailed = 'VALIDATION_FAILED',
  MissingSignature = 'MISSING_SIGNATURE',
  InvalidSignature = 'INVALID_SIGNATURE',
  NotFound = 'NOT_FOUND',
  JobNotFound = 'JOB_NOT_FOUND',
  MethodNotAllowed = 'METHOD_NOT_ALLOWED',
  UnsupportedMediaType = 'UNSUPPORTED_MEDIA_TYPE',
  PayloadTooLarge = 'PAYLOAD_TOO_LARGE',
  BatchSizeExceeded = 'BATCH_SIZE_EXCEEDED',
  TooManyImages = 'TOO_MANY_IMAGES',
  UnsupportedLanguage = 'UNSUPPORTED_LANGUAGE',
  InvalidImageUrls = 'INVALID_IMAGE_URLS',
  InvalidWebhookUrl = 'INVALID_WEBHOOK_URL',
  DuplicateLotId = 'DUPLICATE_LOT_ID',
  JobNotCancellable = 'JOB_NOT_CANCELLABLE',
  JobStateConflict = 'JOB_STATE_CONFLICT',
  RateLimitExceeded = 'RATE_LIMIT_EXCEEDED',
  OpenAiApiError = 'OPENAI_API_ERROR',
  OpenAiTimeout = 'OPENAI_TIMEOUT',
  ServiceUnavailable = 'SERVICE_UNAVAILABLE',
  InternalError = 'INTERNAL_ERROR',
}

/** The `error` title that goes with each code, as in reference 002's examples. */
export const ERROR_TITLES: Record<ErrorCode, string> = {
  [ErrorCode.InvalidJson]: 'Invalid request format',
  [ErrorCode.ValidationFailed]: 'Validation failed',
  [ErrorCode.MissingSignature]: 'Authentication required',
  [ErrorCode.InvalidSignature]: 'Authentication failed',
  [ErrorCode.NotFound]: 'Not found',
  [ErrorCode.JobNotFound]: 'Job not found',
  [ErrorCode.MethodNotAllowed]: 'Method not allowed',
  [ErrorCode.UnsupportedMediaType]: 'Unsupported media type',
  [ErrorCode.PayloadTooLarge]: 'Request too large',
  [ErrorCode.BatchSizeExceeded]: 'Request too large',
  [ErrorCode.TooManyImages]: 'Validation failed',
  [ErrorCode.UnsupportedLanguage]: 'Validation failed',
  [ErrorCode.InvalidImageUrls]: 'Validation failed',
  [ErrorCode.InvalidWebhookUrl]: 'Validation failed',
  [ErrorCode.DuplicateLotId]: 'Conflict',
  [ErrorCode.JobNotCancellable]: 'Job cannot be cancelled',
  [ErrorCode.JobStateConflict]: 'Conflict',
  [ErrorCode.RateLimitExceeded]: 'Too many requests',
  [ErrorCode.OpenAiApiError]: 'External service error',
  [ErrorCode.OpenAiTimeout]: 'Gateway timeout',
  [ErrorCode.ServiceUnavailable]: 'Service unavailable',
  [ErrorCode.InternalError]: 'Internal server error',
};
