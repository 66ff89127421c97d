import { Writable } from 'node:stream';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { contextFromTraceparent, linkTo, SpanKind, traceparentOf, withSpan } from './tracing.js';

describe('spans and trace ids in logs (in-memory exporter)', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });

  beforeAll(() => {
    trace.setGlobalTracerProvider(provider);
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it('continues a remote traceparent, records errors, and ends the span', async () => {
    const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    let inside: string | undefined;
    await withSpan('process mf.events.invoice.paid', { kind: SpanKind.CONSUMER, parent: contextFromTraceparent(parent) }, async () => {
      inside = traceparentOf();
    });
    await expect(withSpan('fails', {}, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await provider.forceFlush();
    const [ok, failed] = exporter.getFinishedSpans();
    expect(ok?.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(ok?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(ok?.kind).toBe(SpanKind.CONSUMER);
    expect(inside).toBe(`00-0af7651916cd43dd8448eb211c80319c-${ok?.spanContext().spanId}-01`);
    expect(failed?.status.code).toBe(2 /* ERROR */);
    expect(failed?.events.map((e) => e.name)).toEqual(['exception']);
    expect(linkTo(contextFromTraceparent(undefined))).toBeUndefined();
    expect(linkTo(contextFromTraceparent(parent))?.context.spanId).toBe('b7ad6b7169203331');
  });

  it('puts trace_id and span_id on every log line written inside a span, and none outside', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        cb();
      },
    });
    const serviceLogger = createLogger('test', 'info', sink);
    let spanId = '';
    await withSpan('work', { parent: contextFromTraceparent('00-11111111111111111111111111111111-2222222222222222-01') }, async (span) => {
      spanId = span.spanContext().spanId;
      serviceLogger.info('inside');
    });
    serviceLogger.info('outside');
    expect(lines[0]).toMatchObject({ msg: 'inside', trace_id: '11111111111111111111111111111111', span_id: spanId, service: 'test' });
    expect(lines[1]).not.toHaveProperty('trace_id');
  });
});
