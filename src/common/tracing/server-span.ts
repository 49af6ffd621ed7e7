import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import type { IncomingHttpHeaders } from 'node:http';
import { TRACER_NAME, tracingEnabled } from './tracing.js';

export interface ServerSpan {
  /** Runs `fn` (the rest of the request's handling) with the span active. */
  run<T>(fn: () => T): T;
  /** Names the span after the route template (never the raw path: job ids), records the status, ends it. */
  end(result: { route?: string; status: number; aborted?: boolean; jobId?: string }): void;
}

/**
 * The server span of one HTTP request, child of the caller's W3C
 * `traceparent` when there is one. Undefined when tracing is off.
 */
export function startServerSpan(method: string, path: string, headers: IncomingHttpHeaders): ServerSpan | undefined {
  if (!tracingEnabled()) return undefined;
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  const span = trace
    .getTracer(TRACER_NAME)
    .startSpan(method, { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_URL_PATH]: path } }, parent);
  const active = trace.setSpan(parent, span);
  return {
    run: (fn) => context.with(active, fn),
    end({ route, status, aborted, jobId }) {
      if (route) {
        span.setAttribute(ATTR_HTTP_ROUTE, route);
        span.updateName(`${method} ${route}`);
      }
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      // The job-scoped routes: a job's polls are found by its id like its pipeline spans.
      if (jobId) span.setAttribute('job_id', jobId);
      if (status >= 500 || aborted)
        span.setStatus({ code: SpanStatusCode.ERROR, message: aborted ? 'connection closed early' : undefined });
      span.end();
    },
  };
}
