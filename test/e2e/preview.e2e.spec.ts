import { beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { eventually, stripeClient } from './helpers.js';

/**
 * Issue 8 item 8: `POST /v1/invoices/create_preview` is the invoice that would be issued (a
 * customer's "current bill"), with the usage so far and the credits that would apply, and writes
 * nothing. Each case is one customer on its own clock; every response is checked against
 * Stripe's schema by `stripeClient()`.
 */
const T0 = Date.UTC(2026, 0, 1) / 1000;
const MID = T0 + 10 * 86400;
const PERIOD_END = Date.UTC(2026, 1, 1) / 1000;

describe('invoice preview', () => {
  const stripe = stripeClient();
  let meter: Stripe.Billing.Meter;
  let price: Stripe.Price;
  let dearer: Stripe.Price;
  let seat: Stripe.Price;

  beforeAll(async () => {
    meter = await stripe.billing.meters.create({
      display_name: 'Car rental minutes',
      event_name: `preview_minutes_${Date.now()}`,
      default_aggregation: { formula: 'sum' },
    });
    const product = await stripe.products.create({ name: 'Car rental' });
    const recurring = { interval: 'month' as const, usage_type: 'metered' as const, meter: meter.id };
    price = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 1000,
      recurring,
      transform_quantity: { divide_by: 60, round: 'up' },
    });
    dearer = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 2000, recurring });
    const seats = await stripe.products.create({ name: 'Seat' });
    seat = await stripe.prices.create({ product: seats.id, currency: 'usd', unit_amount: 500, recurring: { interval: 'month' } });
  });

  async function subscribed(name: string, mode: 'classic' | 'flexible' = 'flexible') {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: T0, name });
    const customer = await stripe.customers.create({ name, test_clock: clock.id });
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }, { price: seat.id, quantity: 2 }],
      billing_mode: { type: mode },
      proration_behavior: 'none',
    });
    return { clock, customer, sub };
  }

  async function advance(clockId: string, to: number) {
    await stripe.testHelpers.testClocks.advance(clockId, { frozen_time: to });
    await eventually(
      async () => {
        const c = await stripe.testHelpers.testClocks.retrieve(clockId);
        if (c.status === 'internal_failure') throw new Error('clock advance failed');
        return c.status === 'ready' && c.frozen_time === to ? c : undefined;
      },
      60_000,
      250,
    );
  }

  async function usage(customer: string, minutes: number, timestamp: number) {
    await stripe.billing.meterEvents.create({
      event_name: meter.event_name,
      payload: { stripe_customer_id: customer, value: String(minutes) },
      identifier: `${customer}-${timestamp}-${minutes}`,
      timestamp,
    });
    await eventually(async () => {
      const s = await stripe.billing.meters.listEventSummaries(meter.id, { customer, start_time: T0, end_time: PERIOD_END });
      return (s.data[0]?.aggregated_value ?? 0) >= minutes ? true : undefined;
    });
  }

  it('the current bill: usage so far, licensed items in advance, the credits that would apply; nothing written', async () => {
    const { clock, customer, sub } = await subscribed('preview current bill');
    await advance(clock.id, MID);
    await usage(customer.id, 150, MID - 3600);
    await stripe.billing.creditGrants.create({
      customer: customer.id,
      category: 'paid',
      amount: { type: 'monetary', monetary: { currency: 'usd', value: 1000 } },
      applicability_config: { scope: { price_type: 'metered' } },
    });
    const before = await stripe.invoices.list({ customer: customer.id });

    const preview = await stripe.invoices.createPreview({ subscription: sub.id });
    expect(preview.id).toMatch(/^upcoming_in_/);
    expect(preview).toMatchObject({
      object: 'invoice',
      billing_reason: 'upcoming',
      status: 'draft',
      customer: customer.id,
      period_start: T0,
      period_end: PERIOD_END,
      subtotal: 4000, // 150 minutes -> 3 hours = 30.00, 2 seats in advance = 10.00
      total: 3000,
      amount_due: 3000,
    });
    expect(preview.lines.data.map((l) => [l.amount, l.quantity, l.period.start, l.period.end])).toEqual([
      [3000, 150, T0, MID],
      [1000, 2, PERIOD_END, Date.UTC(2026, 2, 1) / 1000],
    ]);
    expect(preview.total_pretax_credit_amounts).toEqual([
      { amount: 1000, credit_balance_transaction: null, type: 'credit_balance_transaction' },
    ]);

    // Customer only: the same subscription's upcoming invoice.
    const byCustomer = await stripe.invoices.createPreview({ customer: customer.id });
    expect(byCustomer.subtotal).toBe(4000);

    // Nothing was written: no invoice, the grant untouched.
    expect((await stripe.invoices.list({ customer: customer.id })).data.map((i) => i.id)).toEqual(before.data.map((i) => i.id));
    const summary = await stripe.billing.creditBalanceSummaries.retrieve({
      customer: customer.id,
      filter: { type: 'applicability_scope', applicability_scope: { price_type: 'metered' } },
    });
    expect(summary.balances[0]?.available_balance.monetary?.value).toBe(1000);
  });

  it('subscription_details: a price change not yet made, and billing_cycle_anchor=now invoicing at once', async () => {
    const { clock, customer, sub } = await subscribed('preview change', 'classic');
    await advance(clock.id, MID);
    await usage(customer.id, 150, MID - 3600);
    const carItem = sub.items.data.find((i) => i.price.id === price.id)!;

    // classic: a price change bills the usage before it at neither price (seed 001); previewed at proration_date = MID.
    const changed = await stripe.invoices.createPreview({
      subscription: sub.id,
      subscription_details: { items: [{ id: carItem.id, price: dearer.id }], proration_date: MID },
    });
    expect(changed.lines.data.map((l) => [l.amount, l.pricing?.price_details?.price])).toEqual([
      [0, dearer.id],
      [1000, seat.id],
    ]);

    const reset = await stripe.invoices.createPreview({
      subscription: sub.id,
      subscription_details: { billing_cycle_anchor: { type: 'now' } },
    });
    expect(reset).toMatchObject({ billing_reason: 'subscription_update', period_start: T0, period_end: MID });
    expect(reset.lines.data[0]).toMatchObject({ amount: 3000, quantity: 150 });

    // The subscription itself is unchanged.
    const after = await stripe.subscriptions.retrieve(sub.id);
    expect(after.items.data.find((i) => i.id === carItem.id)?.price.id).toBe(price.id);
    expect(after.billing_cycle_anchor).toBe(sub.billing_cycle_anchor);
  });

  it('refuses what Stripe refuses: neither customer nor subscription, unknown ids, nothing to preview', async () => {
    await expect(stripe.invoices.createPreview({})).rejects.toMatchObject({ statusCode: 400, code: 'parameter_missing' });
    await expect(stripe.invoices.createPreview({ subscription: 'sub_nope' })).rejects.toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
      param: 'subscription',
    });
    const lonely = await stripe.customers.create({ name: 'no subscription' });
    await expect(stripe.invoices.createPreview({ customer: lonely.id })).rejects.toMatchObject({
      statusCode: 404,
      code: 'invoice_upcoming_none',
    });
  });
});
