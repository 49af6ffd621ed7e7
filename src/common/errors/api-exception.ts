import { HttpException } from '@nestjs/common';
import { ERROR_TITLES, ErrorCode } from './error-code.js';

/** The documented error body: `{error, message, code, details?}` (reference 002). */
export interface ErrorBody {
  error: string;
  message: string;
  code: ErrorCode | string;
  details?: Record<string, unknown>;
}

/**
 * A domain error with its HTTP status and public code. Throw it anywhere in a
 * request; the global filter renders it. `headers` lets a 429 carry Retry-After.
 */
export class ApiException extends HttpException {
  constructor(
    status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
    title: string = ERROR_TITLES[code],
  ) {
    super({ error: title, message, code, ...(details ? { details } : {}) } satisfies ErrorBody, status);
  }

  get body(): ErrorBody {
    return this.getResponse() as ErrorBody;
  }
}
