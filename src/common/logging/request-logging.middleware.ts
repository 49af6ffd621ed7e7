import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { startServerSpan } from '../tracing/server-span.js';
import { captureLogScope, withRequestScope } from './log-context.js';

export const REQUEST_ID_HEADER = 'X-Request-Id';
/** An incoming id is kept only if it is a plain token: it lands in logs and headers as is. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@+=/-]{1,128}$/;
/** Probes and scrapes: logged at debug only, or they would drown the access log. */
const QUIET_PATHS = /^\/(health(\/.*)?|metrics)$/;

/** The caller's X-Request-Id when it is sane, else a new UUID. */
export function requestIdOf(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && SANE_REQUEST_ID.test(value) ? value : randomUUID();
}

interface RoutedRequest extends Request {
  client?: { id?: string };
}

/** One answered (or aborted) request, as the access log sees it. */
export interface FinishedRequest {
  method: string;
  /** The route template (`/api/v1/batch-status/:job_id`), undefined when no route matched. */
  route: string | undefined;
  status: number;
  durationSeconds: number;
  aborted: boolean;
}

export interface RequestLoggingOptions {
  /** Told of every request once it is answered or aborted (the HTTP duration histogram). */
  onFinish?: (request: FinishedRequest) => void;
}

/**
 * First middleware of the public port: gives the request its id (echoed in
 * `X-Request-Id`), a log scope carrying it (and the client once the signature guard
 * has authenticated it), a server span when tracing is on (child of an
 * incoming `traceparent`), and one access-log line when the answer is sent.
 *
 * Runs for every request (it is the cost floor of the stack): one `close`
 * listener per request and no async-resource wrappers.
 */
export function requestLoggingMiddleware(
  options: RequestLoggingOptions = {},
): (request: Request, response: Response, next: NextFunction) => void {
  const logger = new Logger('Http');
  const { onFinish } = options;
  return (request: RoutedRequest, response, next) => {
    const started = process.hrtime.bigint();
    const requestId = requestIdOf(request.headers['x-request-id']);
    response.setHeader(REQUEST_ID_HEADER, requestId);
    const span = startServerSpan(request.method, request.path, request.headers);
    const clientId = () => request.client?.id;
    const run = () =>
      withRequestScope(requestId, clientId, () => {
        // 'close' follows 'finish' on a completed answer and is the only event of an aborted one; it may be emitted
        // from the socket's context, so the line re-enters the request's scope to carry its ids.
        const inScope = captureLogScope();
        response.once('close', () => {
          const aborted = !response.writableFinished;
          const route = (request.route as { path?: string } | undefined)?.path;
          const status = response.statusCode;
          const jobId = (request.params as Record<string, string | undefined> | undefined)?.job_id?.slice(0, 64);
          span?.end({ route, status, aborted, jobId });
          const durationMs = Number((process.hrtime.bigint() - started) / 1000n) / 1000;
          onFinish?.({ method: request.method, route, status, durationSeconds: durationMs / 1000, aborted });
          // Unrouted paths (404s, scanners) are the caller's text: bounded.
          const path = request.path.slice(0, 256);
          const entry = {
            message: `${request.method} ${route ?? path} ${aborted ? 'aborted' : status} ${durationMs.toFixed(1)} ms`,
            method: request.method,
            route: route ?? null,
            ...(route ? {} : { path }),
            status,
            duration_ms: durationMs,
            ...(jobId ? { job_id: jobId } : {}),
          };
          inScope(() => (QUIET_PATHS.test(request.path) ? logger.debug(entry) : logger.log(entry)));
        });
        next();
      });
    if (span) span.run(run);
    else run();
  };
}
