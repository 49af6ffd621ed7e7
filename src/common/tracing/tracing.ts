import {
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type AttributeValue,
  type Link,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

/** Name of the tracer every span of the service comes from. */
export const TRACER_NAME = 'generation-service';

export interface TracingSettings {
  /** OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_TRACES_EXPORTER=otlp) is set. */
  enabled: boolean;
  serviceName: string;
}

export interface Tracing {
  /** Flushes the spans not exported yet and unregisters the provider (a later startTracing may register again). */
  shutdown(): Promise<void>;
}

let active = false;

/** Whether a tracer provider is registered: without one, spans are not even started. */
export function tracingEnabled(): boolean {
  return active;
}

/**
 * Registers the OpenTelemetry SDK for the process: W3C trace context,
 * AsyncLocalStorage context, spans batched to the OTLP/HTTP exporter (which
 * reads OTEL_EXPORTER_OTLP_* itself). `exporter` replaces it, exported span
 * by span (tests pass an InMemorySpanExporter). Returns undefined when
 * tracing is off and no exporter is given.
 */
export function startTracing(settings: TracingSettings, options: { exporter?: SpanExporter } = {}): Tracing | undefined {
  if (!settings.enabled && !options.exporter) return undefined;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: settings.serviceName }),
    spanProcessors: [options.exporter ? new SimpleSpanProcessor(options.exporter) : new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register();
  active = true;
  return {
    async shutdown() {
      active = false;
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** Attribute values, undefined ones left out (a job without a batch yet has no `openai.batch_id`). */
export type SpanAttributes = Record<string, AttributeValue | undefined>;

const defined = (attributes: SpanAttributes): Attributes =>
  Object.fromEntries<AttributeValue>(
    Object.entries(attributes).filter((entry): entry is [string, AttributeValue] => entry[1] !== undefined),
  );

/**
 * Runs `fn` inside a span named `name`, the active span of everything it
 * awaits (child spans, and the trace ids of its log lines). A throw marks the
 * span as an error and is rethrown. Without a registered provider this is
 * `fn(nonRecordingSpan)`.
 */
export function withSpan<T>(
  name: string,
  attributes: SpanAttributes,
  fn: (span: Span) => Promise<T>,
  options: { kind?: SpanKind; links?: Link[] } = {},
): Promise<T> {
  if (!active) return fn(trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
  return trace
    .getTracer(TRACER_NAME)
    .startActiveSpan(
      name,
      { kind: options.kind ?? SpanKind.INTERNAL, attributes: defined(attributes), links: options.links },
      async (span) => {
        try {
          return await fn(span);
        } catch (error) {
          failSpan(span, error);
          throw error;
        } finally {
          span.end();
        }
      },
    );
}

/** Runs `fn` with no active span: what it starts are new traces, not children of the caller's. */
export function outsideTrace<T>(fn: () => T): T {
  return context.with(ROOT_CONTEXT, fn);
}

/** Records `error` on `span` and marks it failed. */
export function failSpan(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** The ids of the active span, for log lines; undefined outside any recorded span. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  if (!active) return undefined;
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || !isSpanContextValid(spanContext)) return undefined;
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

/** Sets attributes on the active span (an outcome learnt at the end of the work); `failure` marks it failed. */
export function annotateActiveSpan(attributes: SpanAttributes, failure?: string): void {
  if (!active) return;
  const span = trace.getActiveSpan();
  if (!span) return;
  span.setAttributes(defined(attributes));
  if (failure !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
}

/** An event on the active span (a retry, with its cause and delay). */
export function addSpanEvent(name: string, attributes: SpanAttributes = {}): void {
  if (active) trace.getActiveSpan()?.addEvent(name, defined(attributes));
}

/**
 * A child of the active span, not made active (a leaf: a query, an outbound
 * request). Undefined when tracing is off or nothing is being traced, so that
 * background work (pool housekeeping, the emulator's own downloads) starts no
 * trace of its own. The caller ends it.
 */
export function startChildSpan(name: string, attributes: SpanAttributes, kind: SpanKind = SpanKind.INTERNAL): Span | undefined {
  if (!active) return undefined;
  const parent = trace.getActiveSpan();
  if (!parent?.isRecording()) return undefined;
  return trace.getTracer(TRACER_NAME).startSpan(name, { kind, attributes: defined(attributes) });
}

/** Writes the W3C `traceparent` (and `tracestate`) of the active context, or of `span` under it, into `headers`. */
export function injectTraceContext(headers: Record<string, string>, span?: Span): void {
  if (!active) return;
  propagation.inject(span ? trace.setSpan(context.active(), span) : context.active(), headers);
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The active span as a W3C `traceparent` (`00-<trace>-<span>-<flags>`), to be stored; undefined outside any span. */
export function activeTraceParent(): string | undefined {
  if (!active) return undefined;
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || !isSpanContextValid(spanContext)) return undefined;
  return `00-${spanContext.traceId}-${spanContext.spanId}-${(spanContext.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** A link to the span a stored `traceparent` names (the request that created a job); none for a missing or malformed one. */
export function linksTo(traceParent: string | null | undefined): Link[] | undefined {
  const match = traceParent ? TRACEPARENT.exec(traceParent) : null;
  if (!match) return undefined;
  const spanContext: SpanContext = {
    traceId: match[1],
    spanId: match[2],
    traceFlags: parseInt(match[3], 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return isSpanContextValid(spanContext) ? [{ context: spanContext }] : undefined;
}
