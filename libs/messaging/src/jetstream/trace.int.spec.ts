import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { context, propagation, trace, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsNames, type NatsNames } from '@meterflow/contracts';
import { eventually, openTestInfra, type TestInfra } from '@meterflow/testing';
import { traceparentOf } from '@meterflow/observability';
import { ensureStreams, startBatchConsumer, startDurableConsumer } from './index.js';

/**
 * Traces across JetStream (issue 10): a consumer continues the publisher's `traceparent` in a
 * CONSUMER span (the handler runs inside it); a batch span continues the first traced message
 * and links the others. Checked with an in-memory span exporter on the real NATS.
 */
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
let infra: TestInfra;
let nc: NatsConnection;
let js: JetStreamClient;
let names: NatsNames;

beforeAll(async () => {
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  infra = await openTestInfra({ poolMax: 2 });
  nc = infra.nc;
  js = jetstream(nc);
  names = natsNames(infra.ns);
  await ensureStreams(nc, names);
});

afterAll(async () => {
  await infra?.close();
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

const parentOf = (traceId: string, spanId: string) => `00-${traceId}-${spanId}-01`;
const traced = (traceparent: string) => {
  const h = natsHeaders();
  h.set('traceparent', traceparent);
  return h;
};

describe('trace context over JetStream', () => {
  it('a durable consumer handles each message in a consumer span of the publisher’s trace', async () => {
    const subject = names.ingestSubject('traced');
    const seen: (string | undefined)[] = [];
    const consumer = await startDurableConsumer({
      nc,
      stream: names.ingestStream,
      durable: names.durable('meter-ingestion', 'traced'),
      filterSubject: subject,
      handle: async () => {
        seen.push(traceparentOf());
        return { kind: 'ack' };
      },
    });
    try {
      const parent = parentOf('a'.repeat(32), 'b'.repeat(16));
      await js.publish(subject, '{}', { headers: traced(parent) });
      await eventually(async () => (seen.length === 1 ? true : undefined), 10_000);
      await provider.forceFlush();
      const span = exporter.getFinishedSpans().find((s) => s.name === `process ${subject}`);
      expect(span?.kind).toBe(SpanKind.CONSUMER);
      expect(span?.spanContext().traceId).toBe('a'.repeat(32));
      expect(span?.parentSpanContext?.spanId).toBe('b'.repeat(16));
      // The handler ran inside that span: what it writes or sends carries it on.
      expect(seen[0]).toBe(parentOf('a'.repeat(32), span!.spanContext().spanId));
    } finally {
      await consumer.stop();
    }
  });

  it('a batch span continues the first traced message and links the others', async () => {
    const subject = names.ingestSubject('traced-batch');
    let batches = 0;
    const consumer = await startBatchConsumer({
      nc,
      stream: names.ingestStream,
      durable: names.durable('meter-ingestion', 'traced-batch'),
      filterSubject: subject,
      maxBatch: 10,
      maxWaitMs: 300,
      handleBatch: async () => {
        batches++;
      },
    });
    try {
      await Promise.all([
        js.publish(subject, '{}', { headers: traced(parentOf('c'.repeat(32), 'd'.repeat(16))) }),
        js.publish(subject, '{}', { headers: traced(parentOf('e'.repeat(32), 'f'.repeat(16))) }),
      ]);
      await eventually(async () => (batches > 0 ? true : undefined), 10_000);
      await provider.forceFlush();
      const spans = exporter.getFinishedSpans().filter((s) => s.name === `process ${names.ingestStream} batch`);
      const all = spans.flatMap((s) => [s.parentSpanContext?.spanId, ...s.links.map((l) => l.context.spanId)]);
      expect(all).toEqual(expect.arrayContaining(['d'.repeat(16), 'f'.repeat(16)]));
      expect(spans.every((s) => s.kind === SpanKind.CONSUMER)).toBe(true);
    } finally {
      await consumer.stop();
    }
  });
});
