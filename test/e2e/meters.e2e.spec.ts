import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { eventually, natsClient, stripeClient, subject, unix } from './helpers.js';

/** Meter ingestion's surface beyond the one thread: lifecycle, adjustments, alerts, error reports. */
describe('meters, adjustments, alerts and asynchronous error reports', () => {
  const stripe = stripeClient();
  let nc: NatsConnection;
  let sub: Subscription;
  const received: { type: string; data: { object: Record<string, unknown> } }[] = [];

  beforeAll(async () => {
    nc = await natsClient();
    sub = nc.subscribe(subject('mf.events.>'), { callback: (_e, m) => void received.push(m.json()) });
  });
  afterAll(async () => {
    sub?.unsubscribe();
    await nc?.drain();
  });

  const window = () => {
    const now = unix();
    return { start_time: now - (now % 60) - 3600, end_time: now - (now % 60) + 120 };
  };
  const total = async (meter: string, customer: string) =>
    (await stripe.billing.meters.listEventSummaries(meter, { customer, ...window() })).data[0]?.aggregated_value;

  it('updates, deactivates (no events accepted) and reactivates a meter; event_name is unique', async () => {
    const name = `lifecycle_${Date.now()}`;
    const meter = await stripe.billing.meters.create({
      display_name: 'Lifecycle',
      event_name: name,
      default_aggregation: { formula: 'count' },
    });
    const dup = await stripe.billing.meters
      .create({ display_name: 'Again', event_name: name, default_aggregation: { formula: 'sum' } })
      .catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);

    expect((await stripe.billing.meters.update(meter.id, { display_name: 'Renamed' })).display_name).toBe('Renamed');
    const off = await stripe.billing.meters.deactivate(meter.id);
    expect(off.status).toBe('inactive');
    expect(off.status_transitions.deactivated_at).toBeTypeOf('number');
    const inactive = await stripe.billing.meters.list({ status: 'inactive', limit: 100 });
    expect(inactive.data.map((m) => m.id)).toContain(meter.id);

    const customer = await stripe.customers.create({ name: 'Lifecycle' });
    const refused = await stripe.billing.meterEvents
      .create({ event_name: name, payload: { stripe_customer_id: customer.id, value: '1' } })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);

    expect((await stripe.billing.meters.reactivate(meter.id)).status).toBe('active');
    await stripe.billing.meterEvents.create({ event_name: name, payload: { stripe_customer_id: customer.id, value: '1' } });
    await stripe.billing.meterEvents.create({ event_name: name, payload: { stripe_customer_id: customer.id, value: '1' } });
    await eventually(async () => ((await total(meter.id, customer.id)) === 2 ? true : undefined));
  });

  it("stores a meter event's Idempotency-Key with the event: a repeat is replayed and counted once, other params are refused", async () => {
    const name = `idem_${Date.now()}`;
    const meter = await stripe.billing.meters.create({ display_name: 'Idem', event_name: name, default_aggregation: { formula: 'sum' } });
    const customer = await stripe.customers.create({ name: 'Idem' });
    const params = (value: string) => ({ event_name: name, payload: { stripe_customer_id: customer.id, value } });
    const key = `idem-${Date.now()}`;

    // No identifier given: the replay answers the first request's generated one, nothing is stored twice.
    const first = await stripe.billing.meterEvents.create(params('5'), { idempotencyKey: key });
    const again = await stripe.billing.meterEvents.create(params('5'), { idempotencyKey: key });
    expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(again.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect({ identifier: again.identifier, created: again.created, payload: again.payload }).toEqual({
      identifier: first.identifier,
      created: first.created,
      payload: first.payload,
    });
    const mismatch = await stripe.billing.meterEvents.create(params('6'), { idempotencyKey: key }).catch((e: unknown) => e);
    expect(mismatch).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);

    // The same key eight times at once: one is stored; the others are replays of it or 409s.
    const burstKey = `${key}-burst`;
    const burst = await Promise.allSettled(
      Array.from({ length: 8 }, () => stripe.billing.meterEvents.create(params('7'), { idempotencyKey: burstKey })),
    );
    const answered = burst.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(answered.length).toBeGreaterThan(0);
    expect(new Set(answered.map((e) => e.identifier)).size).toBe(1);
    expect(answered.filter((e) => e.lastResponse.headers['idempotent-replayed'] !== 'true')).toHaveLength(1);
    for (const r of burst) if (r.status === 'rejected') expect(r.reason).toMatchObject({ statusCode: 409, code: 'idempotency_key_in_use' });

    // v2 takes the same path.
    const v2Key = `${key}-v2`;
    const v2 = await stripe.v2.billing.meterEvents.create(params('11'), { idempotencyKey: v2Key });
    const v2Again = await stripe.v2.billing.meterEvents.create(params('11'), { idempotencyKey: v2Key });
    expect(v2Again.identifier).toBe(v2.identifier);

    await eventually(async () => ((await total(meter.id, customer.id)) === 5 + 7 + 11 ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    expect(await total(meter.id, customer.id)).toBe(5 + 7 + 11);
  });

  it('cancels an event by identifier (v1 and v2); the usage leaves the summary', async () => {
    const name = `adjust_${Date.now()}`;
    const meter = await stripe.billing.meters.create({ display_name: 'Adjust', event_name: name, default_aggregation: { formula: 'sum' } });
    const customer = await stripe.customers.create({ name: 'Adjust' });
    for (const [identifier, value] of [
      ['adj-a', '10'],
      ['adj-b', '20'],
      ['adj-c', '30'],
    ] as const) {
      await stripe.billing.meterEvents.create({ event_name: name, identifier, payload: { stripe_customer_id: customer.id, value } });
    }
    await eventually(async () => ((await total(meter.id, customer.id)) === 60 ? true : undefined));

    const adj = await stripe.billing.meterEventAdjustments.create({ event_name: name, type: 'cancel', cancel: { identifier: 'adj-b' } });
    expect(adj).toMatchObject({ object: 'billing.meter_event_adjustment', type: 'cancel', cancel: { identifier: 'adj-b' } });
    await eventually(async () => ((await total(meter.id, customer.id)) === 40 ? true : undefined));

    const v2 = await stripe.v2.billing.meterEventAdjustments.create({ event_name: name, type: 'cancel', cancel: { identifier: 'adj-c' } });
    expect(v2).toMatchObject({ object: 'v2.billing.meter_event_adjustment', type: 'cancel' });
    await eventually(async () => ((await total(meter.id, customer.id)) === 10 ? true : undefined));
  });

  it('fires billing.alert.triggered once when a customer reaches the threshold', async () => {
    const name = `alerted_${Date.now()}`;
    const meter = await stripe.billing.meters.create({
      display_name: 'Alerted',
      event_name: name,
      default_aggregation: { formula: 'sum' },
    });
    const customer = await stripe.customers.create({ name: 'Alerted' });
    const alert = await stripe.billing.alerts.create({
      alert_type: 'usage_threshold',
      title: 'Over 100',
      usage_threshold: { gte: 100, meter: meter.id, recurrence: 'one_time', filters: [{ type: 'customer', customer: customer.id }] },
    });
    expect(alert).toMatchObject({ object: 'billing.alert', status: 'active' });
    expect((await stripe.billing.alerts.list({ meter: meter.id })).data.map((a) => a.id)).toContain(alert.id);

    for (const value of ['60', '50', '70']) {
      await stripe.billing.meterEvents.create({ event_name: name, payload: { stripe_customer_id: customer.id, value } });
    }
    const triggered = await eventually(async () =>
      received.find((e) => e.type === 'billing.alert.triggered' && (e.data.object.alert as { id?: string })?.id === alert.id),
    );
    expect(triggered.data.object).toMatchObject({ object: 'billing.alert_triggered', customer: customer.id });
    await new Promise((r) => setTimeout(r, 1000));
    expect(
      received.filter((e) => e.type === 'billing.alert.triggered' && (e.data.object.alert as { id?: string })?.id === alert.id),
    ).toHaveLength(1);

    expect((await stripe.billing.alerts.deactivate(alert.id)).status).toBe('inactive');
    expect((await stripe.billing.alerts.activate(alert.id)).status).toBe('active');
    expect((await stripe.billing.alerts.archive(alert.id)).status).toBe('archived');
  });

  it('reports events that fail validation over NATS as Stripe error-report events', async () => {
    const name = `reported_${Date.now()}`;
    const meter = await stripe.billing.meters.create({
      display_name: 'Reported',
      event_name: name,
      default_aggregation: { formula: 'sum' },
    });
    const customer = await stripe.customers.create({ name: 'Reported' });
    const js = jetstream(nc);
    await js.publish(
      subject('mf.ingest.meter_events'),
      JSON.stringify({
        events: [
          { event_name: name, payload: { stripe_customer_id: customer.id, value: '5' }, identifier: 'rep-ok' },
          { event_name: name, payload: { stripe_customer_id: customer.id, value: '1.5' }, identifier: 'rep-decimal' },
          {
            event_name: name,
            payload: { stripe_customer_id: customer.id, value: '1' },
            identifier: 'rep-old',
            timestamp: new Date(Date.now() - 40 * 86400_000).toISOString(),
          },
          {
            event_name: `no_such_meter_${Date.now()}`,
            payload: { stripe_customer_id: customer.id, value: '1' },
            identifier: 'rep-nometer',
          },
        ],
      }),
    );
    const report = await eventually(async () =>
      received.find(
        (e) => e.type === 'v1.billing.meter.error_report_triggered' && (e.data.object.related_object as { id?: string })?.id === meter.id,
      ),
    );
    const codes = (report.data.object.reason as { error_types: { code: string; sample_errors: { request: { identifier: string } }[] }[] })
      .error_types;
    expect(codes.map((c) => c.code).sort()).toEqual(['meter_event_invalid_value', 'timestamp_too_far_in_past']);
    expect(codes.flatMap((c) => c.sample_errors.map((s) => s.request.identifier)).sort()).toEqual(['rep-decimal', 'rep-old']);
    await eventually(async () => (received.some((e) => e.type === 'v1.billing.meter.no_meter_found') ? true : undefined));
    // The valid event of the same batch counts.
    await eventually(async () => ((await total(meter.id, customer.id)) === 5 ? true : undefined));
  });
});
