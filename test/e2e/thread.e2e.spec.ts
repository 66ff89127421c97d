import { describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import { jetstream } from '@nats-io/jetstream';
import { eventually, natsClient, stripeClient, subject, unix } from './helpers.js';

/**
 * The skeleton's one real thread: a customer and a meter, usage recorded three ways (v1 HTTP,
 * v2 session + stream, a NATS batch), read back as one total; a duplicate is refused and
 * counted once.
 */
describe('usage recorded three ways is summed once', () => {
  it('v1 + v2 stream + NATS batch = listEventSummaries total; duplicate identifier is a 400', async () => {
    const stripe = stripeClient();
    const customer = await stripe.customers.create({ name: 'Thread Co' });
    expect(customer.id).toMatch(/^cus_/);
    const meter = await stripe.billing.meters.create({
      display_name: 'API calls',
      event_name: `api_call_${Date.now()}`,
      default_aggregation: { formula: 'sum' },
    });
    expect(meter).toMatchObject({ object: 'billing.meter', status: 'active', event_name: meter.event_name });
    expect(meter.customer_mapping.event_payload_key).toBe('stripe_customer_id');
    expect(meter.value_settings.event_payload_key).toBe('value');

    const now = unix();
    const start = now - (now % 60) - 3600;
    const end = now - (now % 60) + 120;
    const ts = now - 60;

    // 1. v1 HTTP
    const v1 = await stripe.billing.meterEvents.create({
      event_name: meter.event_name,
      payload: { stripe_customer_id: customer.id, value: '5' },
      identifier: 'thread-v1-1',
      timestamp: ts,
    });
    expect(v1).toMatchObject({ object: 'billing.meter_event', identifier: 'thread-v1-1', timestamp: ts });

    // 2. v2 session + stream (authenticated with the session token)
    const session = await stripe.v2.billing.meterEventSession.create();
    expect(session.authentication_token).toBeTruthy();
    await stripe.v2.billing.meterEventStream.create(
      {
        events: [
          {
            event_name: meter.event_name,
            payload: { stripe_customer_id: customer.id, value: '7' },
            identifier: 'thread-v2-1',
            timestamp: new Date(ts * 1000).toISOString(),
          },
          {
            event_name: meter.event_name,
            payload: { stripe_customer_id: customer.id, value: '11' },
            identifier: 'thread-v2-2',
            timestamp: new Date(ts * 1000).toISOString(),
          },
        ],
      },
      { apiKey: session.authentication_token },
    );

    // 3. a batch published straight to the NATS ingest subject
    const nc = await natsClient();
    try {
      const js = jetstream(nc);
      const ack = await js.publish(
        subject('mf.ingest.meter_events'),
        JSON.stringify({
          events: [
            {
              event_name: meter.event_name,
              payload: { stripe_customer_id: customer.id, value: '13' },
              identifier: 'thread-nats-1',
              timestamp: new Date(ts * 1000).toISOString(),
            },
            {
              event_name: meter.event_name,
              payload: { stripe_customer_id: customer.id, value: '17' },
              identifier: 'thread-nats-2',
              timestamp: new Date(ts * 1000).toISOString(),
            },
          ],
        }),
      );
      expect(ack.duplicate).toBe(false);
    } finally {
      await nc.drain();
    }

    const total = 5 + 7 + 11 + 13 + 17;
    const summaries = await eventually(async () => {
      const list = await stripe.billing.meters.listEventSummaries(meter.id, { customer: customer.id, start_time: start, end_time: end });
      return list.data[0]?.aggregated_value === total ? list : undefined;
    });
    expect(summaries.data).toHaveLength(1);
    expect(summaries.data[0]).toMatchObject({
      object: 'billing.meter_event_summary',
      meter: meter.id,
      aggregated_value: total,
      start_time: start,
      end_time: end,
    });

    // A duplicate identifier: Stripe's 400, counted once.
    const dup = await stripe.billing.meterEvents
      .create({
        event_name: meter.event_name,
        payload: { stripe_customer_id: customer.id, value: '1000' },
        identifier: 'thread-v1-1',
        timestamp: ts,
      })
      .catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((dup as Stripe.errors.StripeError).statusCode).toBe(400);
    expect((dup as Stripe.errors.StripeError).message).toBe('An event already exists with identifier thread-v1-1.');
    // …and a duplicate arriving over NATS is not counted either.
    const nc2 = await natsClient();
    try {
      await jetstream(nc2).publish(
        subject('mf.ingest.meter_events'),
        JSON.stringify({
          events: [
            { event_name: meter.event_name, payload: { stripe_customer_id: customer.id, value: '500' }, identifier: 'thread-nats-1' },
          ],
        }),
      );
    } finally {
      await nc2.drain();
    }
    await new Promise((r) => setTimeout(r, 1500));
    const after = await stripe.billing.meters.listEventSummaries(meter.id, { customer: customer.id, start_time: start, end_time: end });
    expect(after.data[0]?.aggregated_value).toBe(total);
  });
});
