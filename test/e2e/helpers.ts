import Stripe from 'stripe';
import { inject } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { InvoiceExplanation } from '@meterflow/contracts';
import { validatingStripe } from './stripe-schema.js';

/**
 * The official SDK, unmodified, pointed at the running gateway. Every response it promises is
 * checked against Stripe's schema for its object (`stripe-schema.ts`): a call that receives an
 * object Stripe would not send fails there, naming the field.
 */
export function stripeClient(apiKey = inject('apiKey')): Stripe {
  return validatingStripe(rawStripeClient(apiKey));
}

/** The SDK without the schema check (for a test that looks at a deliberately odd response). */
export function rawStripeClient(apiKey = inject('apiKey')): Stripe {
  return new Stripe(apiKey, {
    host: '127.0.0.1',
    port: inject('apiPort'),
    protocol: 'http',
    maxNetworkRetries: 0,
    telemetry: false,
  });
}

/** `GET /meterflow/v1/invoices/:id/explanation` through the SDK's raw request (Meterflow's own route), parsed with its schema. */
export async function explanationOf(id: string): Promise<InvoiceExplanation> {
  return InvoiceExplanation.parse(await rawStripeClient().rawRequest('GET', `/meterflow/v1/invoices/${id}/explanation`));
}

export async function natsClient(): Promise<NatsConnection> {
  return connect({ servers: inject('natsUrl'), name: 'meterflow-e2e' });
}

/** Subject names in this run's namespace. */
export const subject = (s: string): string => `${inject('namespace')}.${s}`;
export const streamName = (s: string): string => `${inject('namespace').toUpperCase()}_${s}`;

export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw last instanceof Error ? last : new Error('eventually: timed out');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const unix = (d: Date = new Date()): number => Math.floor(d.getTime() / 1000);

/**
 * Advance a test clock to `to` and wait until it is `ready` there (Stripe answers the advance
 * with `advancing` and works in the background). An advance that ends in `internal_failure` fails
 * at once, not after the timeout.
 */
export async function advanceClock(stripe: Stripe, clockId: string, to: number, timeoutMs = 60_000): Promise<Stripe.TestHelpers.TestClock> {
  const started = await stripe.testHelpers.testClocks.advance(clockId, { frozen_time: to });
  if (started.status !== 'advancing') throw new Error(`clock ${clockId}: advance answered ${started.status}, not advancing`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await stripe.testHelpers.testClocks.retrieve(clockId);
    if (c.status === 'internal_failure') throw new Error(`clock ${clockId}: advance to ${to} ended in internal_failure`);
    if (c.status === 'ready' && c.frozen_time === to) return c;
    if (Date.now() > deadline)
      throw new Error(`clock ${clockId}: not ready at ${to} after ${timeoutMs} ms (${c.status}, ${c.frozen_time})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The seed's car-rental catalog: a "Car rental minutes" sum meter (event name `<prefix>_<now>`),
 * its product with a 10.00 per started hour metered price (`divide_by` 60, `round` up), and a
 * "Seat" product with a 5.00 monthly licensed price. `recurring` makes more metered prices on it.
 */
export async function carRentalCatalog(stripe: Stripe, prefix: string) {
  const meter = await stripe.billing.meters.create({
    display_name: 'Car rental minutes',
    event_name: `${prefix}_${Date.now()}`,
    default_aggregation: { formula: 'sum' },
  });
  const product = await stripe.products.create({ name: 'Car rental' });
  const recurring = { interval: 'month' as const, usage_type: 'metered' as const, meter: meter.id };
  const perHour = await stripe.prices.create({
    product: product.id,
    currency: 'usd',
    unit_amount: 1000,
    recurring,
    transform_quantity: { divide_by: 60, round: 'up' },
  });
  const seats = await stripe.products.create({ name: 'Seat' });
  const seat = await stripe.prices.create({ product: seats.id, currency: 'usd', unit_amount: 500, recurring: { interval: 'month' } });
  return { meter, product, recurring, perHour, seat };
}
