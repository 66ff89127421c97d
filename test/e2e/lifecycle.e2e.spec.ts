import { beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { eventually, stripeClient, advanceClock } from './helpers.js';

/**
 * Issue 8: the subscription lifecycle as Stripe bills it (seed 001, reference §4), through the
 * official SDK on test clocks. Each case is one customer on its own clock.
 */
const T0 = Date.UTC(2026, 0, 1) / 1000; // 2026-01-01T00:00:00Z
const PERIOD_END = Date.UTC(2026, 1, 1) / 1000;
const AFTER_GRACE = PERIOD_END + 2 * 3600;

describe('subscription lifecycle', () => {
  const stripe = stripeClient();
  let meter: Stripe.Billing.Meter;
  let price: Stripe.Price;

  beforeAll(async () => {
    meter = await stripe.billing.meters.create({
      display_name: 'Car rental minutes',
      event_name: `lifecycle_minutes_${Date.now()}`,
      default_aggregation: { formula: 'sum' },
    });
    const product = await stripe.products.create({ name: 'Car rental' });
    price = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 1000,
      recurring: { interval: 'month', usage_type: 'metered', meter: meter.id },
      transform_quantity: { divide_by: 60, round: 'up' },
    });
  });

  async function customerOnClock(name: string, at = T0) {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: at, name });
    const customer = await stripe.customers.create({ name, test_clock: clock.id });
    return { clock, customer };
  }

  async function usage(customer: string, minutes: number[], timestamp?: number) {
    for (const [i, m] of minutes.entries())
      await stripe.billing.meterEvents.create({
        event_name: meter.event_name,
        payload: { stripe_customer_id: customer, value: String(m) },
        identifier: `${customer}-${timestamp ?? 'now'}-${i}`,
        ...(timestamp !== undefined ? { timestamp } : {}),
      });
    const total = minutes.reduce((a, b) => a + b, 0);
    const start = Math.floor((timestamp ?? T0) / 60) * 60;
    await eventually(async () => {
      const s = await stripe.billing.meters.listEventSummaries(meter.id, { customer, start_time: start, end_time: start + 3600 });
      return (s.data[0]?.aggregated_value ?? 0) >= total ? true : undefined;
    });
  }

  const advance = (clockId: string, to: number) => advanceClock(stripe, clockId, to);

  it('classic: a paid subscription_create invoice with a 0-amount line per metered item is the latest_invoice (item 1)', async () => {
    const { customer } = await customerOnClock('classic creation invoice');
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      billing_mode: { type: 'classic' },
    });
    expect(sub.latest_invoice).toMatch(/^in_/);
    const inv = await stripe.invoices.retrieve(sub.latest_invoice as string);
    expect(inv).toMatchObject({
      billing_reason: 'subscription_create',
      status: 'paid',
      subtotal: 0,
      total: 0,
      amount_due: 0,
      customer: customer.id,
    });
    expect(inv.status_transitions.finalized_at).toBe(T0);
    expect(inv.lines.data).toHaveLength(1);
    expect(inv.lines.data[0]).toMatchObject({ amount: 0, period: { start: T0, end: PERIOD_END } });

    // The cycle invoice still bills the first period's usage.
    await usage(customer.id, [60, 60, 30]);
    await advance(sub.test_clock as string, AFTER_GRACE);
    const all = await stripe.invoices.list({ customer: customer.id });
    expect(all.data.map((i) => [i.billing_reason, i.subtotal])).toEqual([
      ['subscription_cycle', 3000],
      ['subscription_create', 0],
    ]);
    expect((await stripe.subscriptions.retrieve(sub.id)).latest_invoice).toBe(all.data[0]!.id);
  });

  it('flexible: no creation invoice when every item is metered (item 1)', async () => {
    const { customer } = await customerOnClock('flexible no creation invoice');
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      billing_mode: { type: 'flexible' },
    });
    expect(sub.latest_invoice).toBeNull();
    expect((await stripe.invoices.list({ customer: customer.id })).data).toEqual([]);
  });

  it('flexible + backdate_start_date: the backdated usage is its own subscription_create invoice, credits applied at creation (item 2)', async () => {
    const { clock, customer } = await customerOnClock('flexible backdate');
    const backdate = T0 - 10 * 86400;
    await usage(customer.id, [60, 60, 30], T0 - 5 * 86400); // 150 minutes before the subscription exists
    await stripe.billing.creditGrants.create({
      customer: customer.id,
      category: 'paid',
      amount: { type: 'monetary', monetary: { currency: 'usd', value: 1000 } },
      applicability_config: { scope: { price_type: 'metered' } },
    });
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      billing_mode: { type: 'flexible' },
      backdate_start_date: backdate,
    });
    expect(sub.start_date).toBe(backdate);
    expect(sub.items.data[0]).toMatchObject({ current_period_start: T0, current_period_end: PERIOD_END });
    const inv = await stripe.invoices.retrieve(sub.latest_invoice as string);
    expect(inv).toMatchObject({ billing_reason: 'subscription_create', status: 'open', subtotal: 3000, amount_due: 2000 });
    expect(inv.lines.data).toHaveLength(1);
    expect(inv.lines.data[0]).toMatchObject({ amount: 3000, period: { start: backdate, end: T0 } });
    expect(inv.total_pretax_credit_amounts?.reduce((s, c) => s + c.amount, 0)).toBe(1000);

    // The first cycle bills [creation, first boundary) only: 45 minutes -> 1 hour.
    await usage(customer.id, [45]);
    await advance(clock.id, AFTER_GRACE);
    const cycle = (await stripe.invoices.list({ customer: customer.id })).data.find((i) => i.billing_reason === 'subscription_cycle')!;
    expect(cycle.subtotal).toBe(1000);
    expect(cycle.lines.data[0]).toMatchObject({ amount: 1000, period: { start: T0, end: PERIOD_END } });
  });

  it('classic + backdate_start_date: the next cycle invoice bills the backdated usage with the rest (item 2, seed 001)', async () => {
    const { clock, customer } = await customerOnClock('classic backdate');
    const backdate = T0 - 10 * 86400;
    await usage(customer.id, [60, 60, 30], T0 - 5 * 86400); // 150 minutes before the subscription exists
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      billing_mode: { type: 'classic' },
      backdate_start_date: backdate,
    });
    expect(sub.start_date).toBe(backdate);
    expect(sub.items.data[0]).toMatchObject({ current_period_start: backdate, current_period_end: PERIOD_END });
    const created = await stripe.invoices.retrieve(sub.latest_invoice as string);
    expect(created).toMatchObject({ billing_reason: 'subscription_create', status: 'paid', subtotal: 0 });

    await usage(customer.id, [45]);
    await advance(clock.id, AFTER_GRACE);
    const cycle = (await stripe.invoices.list({ customer: customer.id })).data.find((i) => i.billing_reason === 'subscription_cycle')!;
    // 150 + 45 = 195 minutes -> 4 hours = 40.00, one line for [backdate, first boundary)
    expect(cycle.lines.data.map((l) => [l.amount, l.quantity, l.period.start, l.period.end])).toEqual([[4000, 195, backdate, PERIOD_END]]);
  });

  it('flexible + backdate_start_date + proration_behavior=none bills no backdated usage (item 2)', async () => {
    const { customer } = await customerOnClock('flexible backdate none');
    await usage(customer.id, [120], T0 - 3 * 86400);
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: price.id }],
      billing_mode: { type: 'flexible' },
      backdate_start_date: T0 - 5 * 86400,
      proration_behavior: 'none',
    });
    expect(sub.latest_invoice).toBeNull();
    expect((await stripe.invoices.list({ customer: customer.id })).data).toEqual([]);
  });
});
