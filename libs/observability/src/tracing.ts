import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';

/**
 * Spans around Meterflow's own hops (RPC, JetStream publish and consume, webhook delivery), so one
 * trace follows a request or a clock advance across every service. Without the SDK started
 * (`startTelemetry`, only when OTEL_EXPORTER_OTLP_ENDPOINT is set) the API's tracer is a no-op and
 * these cost a function call.
 */
const tracer = () => trace.getTracer('meterflow');

export { SpanKind };

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Parent context (default: the active one). */
  parent?: Context;
  links?: Link[];
}

/** Run `fn` in a new span (the active one inside `fn`); the span ends when `fn` settles, with its error recorded. */
export function withSpan<T>(name: string, opts: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = opts.parent ?? context.active();
  return tracer().startActiveSpan(
    name,
    { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes, links: opts.links },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (e) {
        span.recordException(e as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error)?.message });
        throw e;
      } finally {
        span.end();
      }
    },
  );
}

/** The context a W3C `traceparent` names (a root context when there is none). */
export function contextFromTraceparent(traceparent: string | null | undefined): Context {
  if (!traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}

/** The W3C `traceparent` of a context (default: the active one), if it carries a span. */
export function traceparentOf(ctx: Context = context.active()): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent;
}

/** A link to the span a context carries (for a batch span: one link per message beyond the parent). */
export function linkTo(ctx: Context): Link | undefined {
  const sc = trace.getSpanContext(ctx);
  return sc && trace.isSpanContextValid(sc) ? { context: sc } : undefined;
}

/** `trace_id` and `span_id` of the active span, for log lines (nothing when no span is recording). */
export function activeTraceIds(): { trace_id: string; span_id: string } | Record<string, never> {
  const sc = trace.getSpanContext(context.active());
  return sc && trace.isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}
