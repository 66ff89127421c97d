import { beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { eventually, stripeClient, advanceClock, carRentalCatalog } from './helpers.js';

/**
 * Issue 8 item 6: billing thresholds (seed 001; stripe-api.md §4 "Billing thresholds"), through
 * the official SDK on test clocks. The threshold is evaluated at each step of a clock's advance,
 * the first one second after the frozen time (docs/lifecycle.md "Billing thresholds").
 */
const T0 = Date.UTC(2026, 0, 1) / 1000;
const D1 = T0 + 86_400;
const D2 = D1 + 2 * 3600;
const PERIOD_END = Date.UTC(2026, 1, 1) / 1000;
const AFTER_GRACE = PERIOD_END + 2 * 3600;

describe('billing thresholds', () => {
  const stripe = stripeClient();
  let meter: Stripe.Billing.Meter;
  let perHour: Stripe.Price;
  let perMinute: Stripe.Price;
  let seat: Stripe.Price;

  beforeAll(async () => {
    const c = await carRentalCatalog(stripe, 'threshold_minutes');
    perMinute = await stripe.prices.create({ product: c.product.id, currency: 'usd', unit_amount: 10, recurring: c.recurring });
    ({ meter, perHour, seat } = c);
  });

  async function subscribed(name: string, thresholds: Stripe.SubscriptionCreateParams.BillingThresholds) {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: T0, name });
    const customer = await stripe.customers.create({ name, test_clock: clock.id });
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: perHour.id }],
      billing_mode: { type: 'classic' },
      billing_thresholds: thresholds,
    });
    return { clock, customer, sub };
  }

  const advance = (clockId: string, to: number) => advanceClock(stripe, clockId, to);

  /** Report `minutes` at `timestamp` and wait until the meter counts `total` for the period. */
  async function usage(customer: string, minutes: number, timestamp: number, total: number) {
    await stripe.billing.meterEvents.create({
      event_name: meter.event_name,
      payload: { stripe_customer_id: customer, value: String(minutes) },
      identifier: `${customer}-${timestamp}`,
      timestamp,
    });
    await eventually(async () => {
      const s = await stripe.billing.meters.listEventSummaries(meter.id, { customer, start_time: T0, end_time: PERIOD_END });
      return (s.data[0]?.aggregated_value ?? 0) >= total ? true : undefined;
    });
  }

  const invoices = async (customer: string) => (await stripe.invoices.list({ customer })).data.reverse();

  it('a subscription_threshold invoice bills the usage so far; the period end bills only the rest (150 min = 20.00 + 10.00)', async () => {
    const { clock, customer, sub } = await subscribed('threshold split', { amount_gte: 2000 });
    expect(sub.billing_thresholds).toEqual({ amount_gte: 2000, reset_billing_cycle_anchor: false });

    await advance(clock.id, D1);
    await usage(customer.id, 90, D1 - 60, 90); // 2 hours = 20.00 reaches 20.00
    await advance(clock.id, D2);
    const [, threshold] = await invoices(customer.id);
    expect(threshold).toMatchObject({
      billing_reason: 'subscription_threshold',
      created: D1 + 1,
      period_start: T0,
      period_end: D1 + 1,
      status: 'open',
      subtotal: 2000,
    });
    expect(threshold!.lines.data.map((l) => [l.quantity, l.amount])).toEqual([[90, 2000]]);

    // The current bill shows only what the threshold invoice did not bill.
    await usage(customer.id, 60, D2 - 60, 150);
    expect((await stripe.invoices.createPreview({ subscription: sub.id })).subtotal).toBe(1000);

    await advance(clock.id, AFTER_GRACE);
    const all = await invoices(customer.id);
    expect(all.map((i) => [i.billing_reason, i.subtotal])).toEqual([
      ['subscription_create', 0],
      ['subscription_threshold', 2000],
      ['subscription_cycle', 1000],
    ]);
    // Together: exactly what one period-end invoice would have billed (150 minutes -> 3 hours).
    expect(all.at(-1)!.lines.data.map((l) => [l.quantity, l.amount])).toEqual([[60, 1000]]);
    expect(all.at(-1)).toMatchObject({ status: 'open', period_start: T0, period_end: PERIOD_END });
  });

  it('seed 001: after a classic price change the threshold invoice at the old price stands and is not offset', async () => {
    const { clock, customer, sub } = await subscribed('threshold then price change', { amount_gte: 2000 });
    await advance(clock.id, D1);
    await usage(customer.id, 90, D1 - 60, 90);
    await advance(clock.id, D2);
    await stripe.subscriptions.update(sub.id, { items: [{ id: sub.items.data[0]!.id, price: perMinute.id }] });
    await usage(customer.id, 50, D2 + 60, 140);
    await advance(clock.id, AFTER_GRACE);
    const all = await invoices(customer.id);
    expect(all.map((i) => [i.billing_reason, i.subtotal])).toEqual([
      ['subscription_create', 0],
      ['subscription_threshold', 2000],
      ['subscription_cycle', 500], // 50 minutes at 0.10, nothing taken off
    ]);
    // The threshold invoice stands as issued: at the old price, finalized, not voided or changed.
    expect(all[1]).toMatchObject({ status: 'open', total: 2000 });
    expect(all[1]!.lines.data.map((l) => [l.pricing?.price_details?.price, l.quantity, l.amount])).toEqual([[perHour.id, 90, 2000]]);
  });

  it('reset_billing_cycle_anchor=true: the threshold invoice starts a new cycle when the threshold was reached', async () => {
    const { clock, customer, sub } = await subscribed('threshold reset', { amount_gte: 2000, reset_billing_cycle_anchor: true });
    await stripe.billing.creditGrants.create({
      customer: customer.id,
      category: 'paid',
      amount: { type: 'monetary', monetary: { currency: 'usd', value: 500 } },
      applicability_config: { scope: { price_type: 'metered' } },
    });
    await advance(clock.id, D1);
    await usage(customer.id, 90, D1 - 60, 90);
    await advance(clock.id, D2);
    const after = await stripe.subscriptions.retrieve(sub.id);
    expect(after.billing_cycle_anchor).toBe(D1 + 1);
    expect(after.items.data[0]).toMatchObject({ current_period_start: D1 + 1, current_period_end: Date.UTC(2026, 1, 2) / 1000 + 1 });
    const [, threshold] = await invoices(customer.id);
    // Item 3 on a threshold invoice: finalized after the grace period with the 5.00 credit applied.
    expect(threshold).toMatchObject({
      billing_reason: 'subscription_threshold',
      status: 'open',
      subtotal: 2000,
      total: 1500,
      total_excluding_tax: 1500,
      amount_due: 1500,
      period_end: D1 + 1,
    });
    expect(after.latest_invoice).toBe(threshold!.id);
  });

  it('refuses what Stripe refuses, and billing_thresholds="" removes them', async () => {
    const customer = await stripe.customers.create({ name: 'threshold refusals' });
    await expect(
      stripe.subscriptions.create({ customer: customer.id, items: [{ price: perHour.id }], billing_thresholds: { amount_gte: 10 } }),
    ).rejects.toMatchObject({ statusCode: 400, code: 'parameter_invalid', param: 'billing_thresholds[amount_gte]' });
    await expect(
      stripe.subscriptions.create({
        customer: customer.id,
        items: [{ price: perHour.id }, { price: seat.id, quantity: 2 }],
        billing_thresholds: { amount_gte: 1000 },
      }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'billing_thresholds[amount_gte]' });
    await expect(
      stripe.subscriptions.create({
        customer: customer.id,
        items: [{ price: perHour.id }],
        billing_thresholds: { reset_billing_cycle_anchor: true },
      }),
    ).rejects.toMatchObject({ statusCode: 400, code: 'parameter_missing', param: 'billing_thresholds[amount_gte]' });

    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: perHour.id }] });
    expect(sub.billing_thresholds).toBeNull();
    const set = await stripe.subscriptions.update(sub.id, { billing_thresholds: { amount_gte: 5000, reset_billing_cycle_anchor: true } });
    expect(set.billing_thresholds).toEqual({ amount_gte: 5000, reset_billing_cycle_anchor: true });
    // The floor holds after item changes too: 10 seats (50.00 per period) under a 50.00 threshold are refused ...
    await expect(stripe.subscriptionItems.create({ subscription: sub.id, price: seat.id, quantity: 10 })).rejects.toMatchObject({
      statusCode: 400,
      code: 'parameter_invalid',
      param: 'billing_thresholds[amount_gte]',
    });
    // ... and go through with the threshold raised in the same update.
    const raised = await stripe.subscriptions.update(sub.id, {
      billing_thresholds: { amount_gte: 6000 },
      items: [{ price: seat.id, quantity: 10 }],
      proration_behavior: 'none',
    });
    expect(raised.billing_thresholds).toEqual({ amount_gte: 6000, reset_billing_cycle_anchor: false });
    expect(raised.items.data.map((i) => i.quantity ?? null)).toEqual([null, 10]);
    // Item usage thresholds are not implemented: refused, not silently ignored.
    await expect(
      stripe.subscriptionItems.create({ subscription: sub.id, price: perMinute.id, billing_thresholds: { usage_gte: 10 } }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'billing_thresholds[usage_gte]' });
    const cleared = await stripe.subscriptions.update(sub.id, { billing_thresholds: '' });
    expect(cleared.billing_thresholds).toBeNull();
  });
});
