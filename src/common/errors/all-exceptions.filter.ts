import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { ApiException, type ErrorBody } from './api-exception.js';
import { allowedMethods } from './allowed-methods.js';
import { ERROR_TITLES, ErrorCode } from './error-code.js';

/** Maps the errors Nest and body-parser raise themselves to the documented shape. */
function fromHttpException(exception: HttpException, request: Request): ErrorBody {
  const status = exception.getStatus();
  const response = exception.getResponse();
  const raw = typeof response === 'string' ? response : (response as { message?: unknown }).message;
  const messages = Array.isArray(raw)
    ? raw.map(String)
    : raw !== undefined
      ? [typeof raw === 'string' ? raw : JSON.stringify(raw)]
      : [exception.message];
  const byStatus: Partial<Record<number, ErrorCode>> = {
    [HttpStatus.BAD_REQUEST]: ErrorCode.ValidationFailed,
    [HttpStatus.UNAUTHORIZED]: ErrorCode.MissingSignature,
    [HttpStatus.FORBIDDEN]: ErrorCode.InvalidSignature,
    [HttpStatus.NOT_FOUND]: ErrorCode.NotFound,
    [HttpStatus.METHOD_NOT_ALLOWED]: ErrorCode.MethodNotAllowed,
    [HttpStatus.PAYLOAD_TOO_LARGE]: ErrorCode.PayloadTooLarge,
    [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: ErrorCode.UnsupportedMediaType,
    [HttpStatus.TOO_MANY_REQUESTS]: ErrorCode.RateLimitExceeded,
    [HttpStatus.SERVICE_UNAVAILABLE]: ErrorCode.ServiceUnavailable,
  };
  const code = byStatus[status] ?? (status >= 500 ? ErrorCode.InternalError : ErrorCode.ValidationFailed);
  if (code === ErrorCode.NotFound) {
    return { error: ERROR_TITLES[code], message: `No route for ${request.method} ${request.path}`, code };
  }
  if (code === ErrorCode.ValidationFailed && messages.length > 1) {
    return { error: ERROR_TITLES[code], message: messages.join('; '), code, details: { problems: messages } };
  }
  return { error: ERROR_TITLES[code], message: messages.join('; '), code };
}

/**
 * A deliberate 503 (Terminus when a probe fails): the check result goes in
 * `details`, and the message names what is down.
 */
export function fromUnavailable(exception: HttpException): ErrorBody {
  const response = exception.getResponse() as { status?: string; error?: Record<string, { message?: string }> } | string;
  if (typeof response === 'object' && response.error && typeof response.error === 'object') {
    const down = Object.entries(response.error).map(([name, info]) => (info?.message ? `${name} (${info.message})` : name));
    return {
      error: ERROR_TITLES[ErrorCode.ServiceUnavailable],
      message: `Not healthy: ${down.join('; ')}`,
      code: ErrorCode.ServiceUnavailable,
      details: response,
    };
  }
  return { error: ERROR_TITLES[ErrorCode.ServiceUnavailable], message: exception.message, code: ErrorCode.ServiceUnavailable };
}

function methodNotAllowed(request: Request, allow: string[]): ErrorBody {
  return {
    error: ERROR_TITLES[ErrorCode.MethodNotAllowed],
    message: `${request.method} is not allowed on ${request.path}; allowed: ${allow.join(', ')}`,
    code: ErrorCode.MethodNotAllowed,
  };
}

/** Errors body-parser raises before any route runs (they carry `type` and `status`). */
function fromBodyParser(error: { type?: string; status?: number; limit?: number }): [number, ErrorBody] | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return [400, { error: ERROR_TITLES[ErrorCode.InvalidJson], message: 'Request body must be valid JSON', code: ErrorCode.InvalidJson }];
    case 'entity.too.large':
      return [
        413,
        {
          error: ERROR_TITLES[ErrorCode.PayloadTooLarge],
          message: `Request body exceeds the limit of ${error.limit} bytes`,
          code: ErrorCode.PayloadTooLarge,
          details: { max_bytes: error.limit },
        },
      ];
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return [
        415,
        {
          error: ERROR_TITLES[ErrorCode.UnsupportedMediaType],
          message: 'Request body must be UTF-8 JSON',
          code: ErrorCode.UnsupportedMediaType,
        },
      ];
    case 'request.aborted':
      return [
        400,
        { error: ERROR_TITLES[ErrorCode.InvalidJson], message: 'Request body was not received completely', code: ErrorCode.InvalidJson },
      ];
    default:
      return undefined;
  }
}

/**
 * The one place errors become HTTP answers. Every response body is
 * `{error, message, code, details?}`; unexpected errors become a 500 with an
 * error id that is logged next to the stack trace, which clients never see.
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    const request = context.getRequest<Request>();
    const response = context.getResponse<Response>();
    const [status, body, headers] = this.render(exception, request);
    if (response.headersSent) {
      response.destroy();
      return;
    }
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    response.status(status).json(body);
  }

  private render(exception: unknown, request: Request): [number, ErrorBody, Record<string, string>] {
    if (exception instanceof ApiException) return [exception.getStatus(), exception.body, exception.headers];
    // Nest wraps body-parser's errors in an HttpException whose `cause` is the original.
    const original = exception instanceof HttpException && exception.cause ? exception.cause : exception;
    const parsed = fromBodyParser(original as { type?: string });
    if (parsed) return [...parsed, {}];
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === (HttpStatus.NOT_FOUND as number)) {
        // A known path with a method it does not serve is 405 with Allow, not "no route".
        const allow = allowedMethods(request);
        if (allow.length > 0 && !allow.includes(request.method))
          return [405, methodNotAllowed(request, allow), { Allow: allow.join(', ') }];
      }
      if (status < 500) return [status, fromHttpException(exception, request), {}];
      if (status === (HttpStatus.SERVICE_UNAVAILABLE as number)) return [status, fromUnavailable(exception), { 'Retry-After': '5' }];
    }
    const errorId = randomUUID();
    this.logger.error(
      `error_id=${errorId} ${request.method} ${request.originalUrl}: ${exception instanceof Error ? exception.message : String(exception)}`,
      exception instanceof Error ? exception.stack : undefined,
    );
    return [
      500,
      {
        error: ERROR_TITLES[ErrorCode.InternalError],
        message: `An unexpected error occurred. Quote error id ${errorId} when reporting it.`,
        code: ErrorCode.InternalError,
        details: { error_id: errorId },
      },
      {},
    ];
  }
}
