import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, natsClient, stripeClient, subject } from './helpers.js';
import type { ReceivedSpan } from './otlp-receiver.js';

/**
 * Traces across NATS (issue 10): every service of the e2e stack exports its spans to the
 * in-memory OTLP receiver of global-setup. A caller's `traceparent` is continued by the gateway,
 * over request/reply and JetStream (publish and consume spans), into the event store's metadata,
 * through the outbox relays and into the webhook delivery: one trace per request or clock advance.
 */
const T0 = Date.UTC(2026, 0, 1) / 1000;
const AFTER_GRACE = Date.UTC(2026, 1, 1) / 1000 + 2 * 3600;
const stripe = stripeClient();

/** A fresh W3C trace context as a caller would send it: its trace id and the header. */
function callerTrace(): { traceId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
}

async function spansOf(traceId: string): Promise<ReceivedSpan[]> {
  const r = await fetch(`${inject('otlpUrl')}/spans?trace_id=${traceId}`);
  return (await r.json()) as ReceivedSpan[];
}

/** Spans that hang off neither the caller's span nor another span of the same trace. */
function orphansOf(spans: ReceivedSpan[], callerSpanId: string): ReceivedSpan[] {
  const ids = new Set(spans.map((s) => s.spanId));
  return spans.filter((s) => s.parentSpanId !== callerSpanId && (!s.parentSpanId || !ids.has(s.parentSpanId)));
}

/** Every span of the trace hangs off the caller's span or another span of the same trace: one tree. */
function expectOneTree(spans: ReceivedSpan[], callerSpanId: string): void {
  expect(orphansOf(spans, callerSpanId).map((s) => `${s.service}: ${s.name}`)).toEqual([]);
}

/**
 * The trace once it has arrived whole: `complete(spans)` holds and every span's parent is there.
 * Each process exports the spans that ended in batches (every 200 ms here), and a parent ends
 * after its children: read mid-way, a trace has children whose parents are still on their way
 * (the gateway's pg-pool.connect of the idempotency claim before its HTTP and rpc spans). At the
 * timeout the last reading is returned, for the assertions to say what is missing.
 */
async function settledTrace(
  traceId: string,
  callerSpanId: string,
  complete: (spans: ReceivedSpan[]) => boolean,
  timeoutMs = 30_000,
): Promise<ReceivedSpan[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const spans = await spansOf(traceId);
    if ((complete(spans) && orphansOf(spans, callerSpanId).length === 0) || Date.now() > deadline) return spans;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const callerSpanId = (traceparent: string): string => traceparent.split('-')[2]!;

describe('one trace across the services', () => {
  let nc: NatsConnection;
  let server: http.Server;
  let hookUrl = '';
  let endpointId = '';

  beforeAll(async () => {
    nc = await natsClient();
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end());
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    endpointId = (await stripe.webhookEndpoints.create({ url: hookUrl, enabled_events: ['invoice.finalized'] })).id;
  });

  afterAll(async () => {
    await stripe.webhookEndpoints.del(endpointId).catch(() => undefined);
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
    await nc.drain();
  });

  it('follows POST /v1/billing/meter_events from the gateway into ingestion, and a NATS producer into the ingest consumer', async () => {
    const meter = await stripe.billing.meters.create({
      display_name: 'Traced',
      event_name: `traced_${Date.now()}`,
      default_aggregation: { formula: 'sum' },
    });
    const customer = await stripe.customers.create({ name: 'Traced' });

    const http1 = callerTrace();
    await stripe.billing.meterEvents.create(
      { event_name: meter.event_name, payload: { stripe_customer_id: customer.id, value: '3' }, identifier: `tr-http-${Date.now()}` },
      { headers: { traceparent: http1.traceparent } },
    );
    const viaHttp = await settledTrace(
      http1.traceId,
      callerSpanId(http1.traceparent),
      (spans) =>
        spans.some((s) => s.service === 'meterflow-gateway') && spans.some((s) => s.name === 'meter-ingestion meter_events.create'),
    );
    expect(viaHttp.map((s) => s.name)).toEqual(expect.arrayContaining(['rpc meter-ingestion.meter_events.create']));
    // The handler's own work is in the trace: the event's insert, in meter-ingestion.
    expect(viaHttp.some((s) => s.service === 'meterflow-meter-ingestion' && /insert|pg/i.test(s.name))).toBe(true);
    expectOneTree(viaHttp, callerSpanId(http1.traceparent));

    const nats1 = callerTrace();
    const h = natsHeaders();
    h.set('traceparent', nats1.traceparent);
    await jetstream(nc).publish(
      subject('mf.ingest.meter_events'),
      JSON.stringify({
        events: [
          { event_name: meter.event_name, payload: { stripe_customer_id: customer.id, value: '4' }, identifier: `tr-nats-${Date.now()}` },
        ],
      }),
      { headers: h },
    );
    const viaNats = await settledTrace(nats1.traceId, callerSpanId(nats1.traceparent), (spans) =>
      spans.some((s) => s.service === 'meterflow-meter-ingestion' && /pg|insert|copy/i.test(s.name)),
    );
    const consume = viaNats.find((s) => s.name.startsWith('process') && s.service === 'meterflow-meter-ingestion');
    expect(consume?.parentSpanId).toBe(callerSpanId(nats1.traceparent));
    expectOneTree(viaNats, callerSpanId(nats1.traceparent));
  });

  it('follows a clock advance through rating, invoicing, the credit ledger and the webhook delivery', async () => {
    const meter = await stripe.billing.meters.create({
      display_name: 'Traced minutes',
      event_name: `traced_minutes_${Date.now()}`,
      default_aggregation: { formula: 'sum' },
    });
    const product = await stripe.products.create({ name: 'Traced rental' });
    const price = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 1000,
      recurring: { interval: 'month', usage_type: 'metered', meter: meter.id },
      transform_quantity: { divide_by: 60, round: 'up' },
    });
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: T0, name: 'traced' });
    const customer = await stripe.customers.create({ name: 'Traced Rentals', test_clock: clock.id });
    await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    await stripe.billing.creditGrants.create({
      customer: customer.id,
      name: 'Traced credit',
      category: 'paid',
      amount: { type: 'monetary', monetary: { currency: 'usd', value: 1000 } },
      applicability_config: { scope: { price_type: 'metered' } },
    });
    await stripe.billing.meterEvents.create({
      event_name: meter.event_name,
      payload: { stripe_customer_id: customer.id, value: '150' },
      identifier: `${customer.id}-traced`,
    });
    await eventually(async () => {
      const s = await stripe.billing.meters.listEventSummaries(meter.id, { customer: customer.id, start_time: T0, end_time: T0 + 3600 });
      return s.data[0]?.aggregated_value === 150 ? true : undefined;
    });

    const advance = callerTrace();
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: AFTER_GRACE }, { headers: { traceparent: advance.traceparent } });
    await eventually(
      async () => ((await stripe.testHelpers.testClocks.retrieve(clock.id)).status === 'ready' ? true : undefined),
      60_000,
      250,
    );
    const invoice = (await stripe.invoices.list({ customer: customer.id })).data.find((i) => i.billing_reason === 'subscription_cycle');
    expect(invoice).toMatchObject({ status: 'open', amount_due: 2000 });

    const spans = await settledTrace(advance.traceId, callerSpanId(advance.traceparent), (all) => {
      const services = new Set(all.map((s) => s.service));
      return (
        ['meterflow-gateway', 'meterflow-rating', 'meterflow-invoicing', 'meterflow-credit-ledger'].every((s) => services.has(s)) &&
        all.some((s) => s.name === 'webhook deliver')
      );
    });
    // The hops: request/reply to the participants, a publish of the relayed facts and their consumption.
    expect(spans.some((s) => s.kind === 4 /* PRODUCER */ && s.name.startsWith('publish'))).toBe(true);
    expect(spans.some((s) => s.kind === 5 /* CONSUMER */)).toBe(true);
    expect(spans.some((s) => s.service === 'meterflow-rating' && s.name.startsWith('rpc invoicing.'))).toBe(true);
    expectOneTree(spans, callerSpanId(advance.traceparent));
  });
});
