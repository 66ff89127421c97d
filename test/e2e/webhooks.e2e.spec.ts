import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, stripeClient } from './helpers.js';
import { assertStripeShape } from './stripe-schema.js';

/**
 * Downstream consumers as Stripe's own: a webhook endpoint created through the SDK receives the
 * seed cycle's events, each verified with `stripe.webhooks.constructEvent`; a receiver that fails
 * twice gets each event once more after backoff (the e2e stack runs a compressed schedule);
 * `stripe.events.list` pages through them.
 */
const T0 = Date.UTC(2026, 0, 1) / 1000;
const PERIOD_END = Date.UTC(2026, 1, 1) / 1000;
const AFTER_GRACE = PERIOD_END + 2 * 3600;
const WANTED = ['invoice.created', 'invoice.finalized', 'billing.credit_balance_transaction.created', 'invoice.paid'] as const;

interface Receiver {
  url: string;
  secret: string;
  events: Stripe.Event[];
  statuses: Map<string, number[]>;
  close(): Promise<void>;
}

async function receiver(failFirst: number): Promise<Receiver> {
  const r: Receiver = { url: '', secret: '', events: [], statuses: new Map(), close: async () => undefined };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let event: Stripe.Event;
      try {
        event = stripe.webhooks.constructEvent(Buffer.concat(chunks), req.headers['stripe-signature'] as string, r.secret);
      } catch (e) {
        res.writeHead(400).end((e as Error).message);
        return;
      }
      const seen = r.statuses.get(event.id) ?? [];
      const status = seen.length < failFirst ? 503 : 200;
      r.statuses.set(event.id, [...seen, status]);
      if (status === 200) r.events.push(event);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stripe/webhooks`;
  r.close = () =>
    new Promise((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    });
  return r;
}

const stripe = stripeClient();

describe('webhooks through the seed cycle', () => {
  let healthy: Receiver;
  let flaky: Receiver;
  const endpoints: string[] = [];

  beforeAll(async () => {
    healthy = await receiver(0);
    flaky = await receiver(2);
    for (const r of [healthy, flaky]) {
      const ep = await stripe.webhookEndpoints.create({ url: r.url, enabled_events: [...WANTED], description: 'e2e' });
      r.secret = ep.secret!;
      endpoints.push(ep.id);
    }
  });

  afterAll(async () => {
    for (const id of endpoints) await stripe.webhookEndpoints.del(id).catch(() => undefined);
    await healthy?.close();
    await flaky?.close();
  });

  it('delivers invoice.created, invoice.finalized, the credit transactions and invoice.paid, signed', async () => {
    const meter = await stripe.billing.meters.create({
      display_name: 'Car rental minutes',
      event_name: `wh_minutes_${Date.now()}`,
      default_aggregation: { formula: 'sum' },
    });
    const product = await stripe.products.create({ name: 'Car rental' });
    const price = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 1000,
      recurring: { interval: 'month', usage_type: 'metered', meter: meter.id },
      transform_quantity: { divide_by: 60, round: 'up' },
    });
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: T0, name: 'webhooks' });
    const customer = await stripe.customers.create({ name: 'Webhook Rentals', test_clock: clock.id });
    await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    await stripe.billing.creditGrants.create({
      customer: customer.id,
      name: 'Prepaid rental credit',
      category: 'paid',
      amount: { type: 'monetary', monetary: { currency: 'usd', value: 1000 } },
      applicability_config: { scope: { price_type: 'metered' } },
    });
    for (const [i, minutes] of [60, 60, 30].entries())
      await stripe.billing.meterEvents.create({
        event_name: meter.event_name,
        payload: { stripe_customer_id: customer.id, value: String(minutes) },
        identifier: `${customer.id}-${i}`,
      });
    await eventually(async () => {
      const s = await stripe.billing.meters.listEventSummaries(meter.id, { customer: customer.id, start_time: T0, end_time: T0 + 3600 });
      return s.data[0]?.aggregated_value === 150 ? true : undefined;
    });
    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: AFTER_GRACE });
    await eventually(
      async () => ((await stripe.testHelpers.testClocks.retrieve(clock.id)).status === 'ready' ? true : undefined),
      60_000,
      250,
    );
    const invoice = (await stripe.invoices.list({ customer: customer.id })).data[0]!;
    expect(invoice).toMatchObject({ status: 'open', subtotal: 3000, amount_due: 2000 });
    await stripe.invoices.pay(invoice.id!, { paid_out_of_band: true });

    // Ours: the events of this test clock's objects (other tests' events reach the endpoints too).
    const mine = (r: Receiver) => r.events.filter((e) => (e.data.object as { test_clock?: string }).test_clock === clock.id);
    // Complete: every wanted type, and both credit transactions (the grant's credit and the debit at finalization).
    const txnTypes = (r: Receiver) =>
      mine(r)
        .filter((e) => e.type === 'billing.credit_balance_transaction.created')
        .map((e) => (e.data.object as Stripe.Billing.CreditBalanceTransaction).type);
    const complete = (r: Receiver) =>
      WANTED.every((t) => mine(r).some((e) => e.type === t)) && txnTypes(r).includes('credit') && txnTypes(r).includes('debit');
    await eventually(async () => (complete(healthy) ? true : undefined), 30_000, 200);
    const got = mine(healthy);
    expect(got.find((e) => e.type === 'invoice.paid')?.data.object).toMatchObject({ id: invoice.id, status: 'paid', amount_paid: 2000 });
    expect(got.find((e) => e.type === 'invoice.finalized')?.data.object).toMatchObject({ id: invoice.id, total: 2000 });
    const txns = got.filter((e) => e.type === 'billing.credit_balance_transaction.created');
    expect(txns.map((e) => (e.data.object as Stripe.Billing.CreditBalanceTransaction).type).sort()).toEqual(['credit', 'debit']);
    // Each event once (at least once: a duplicate would be a second delivery of the same id).
    expect(new Set(got.map((e) => e.id)).size).toBe(got.length);
    // Each delivered event and the object it carries, as Stripe's schemas have them (issue 8 "same objects").
    for (const e of got) assertStripeShape(e, `webhook ${e.type}`);

    // The flaky receiver answered 503 twice per event, then got each once more.
    const ids = new Set(got.map((e) => e.id));
    await eventually(
      async () => (complete(flaky) && [...ids].every((id) => mine(flaky).some((e) => e.id === id)) ? true : undefined),
      60_000,
      250,
    );
    for (const e of mine(flaky)) expect(flaky.statuses.get(e.id)).toEqual([503, 503, 200]);
    expect(new Set(mine(flaky).map((e) => e.id))).toEqual(new Set(got.map((e) => e.id)));

    // The same objects through the events API, page by page.
    const listed: Stripe.Event[] = [];
    for await (const e of stripe.events.list({ types: [...WANTED], limit: 3 })) listed.push(e);
    for (const e of got) {
      const same = listed.find((l) => l.id === e.id);
      expect(same).toBeDefined();
      expect(same!.data).toEqual(e.data);
      expect(same!.pending_webhooks).toBe(0);
    }
    expect((await stripe.events.retrieve(got[0]!.id)).type).toBe(got[0]!.type);
  });
});
