import { beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { eventually, stripeClient, advanceClock, carRentalCatalog } from './helpers.js';

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
    const c = await carRentalCatalog(stripe, 'preview_minutes');
    dearer = await stripe.prices.create({ product: c.product.id, currency: 'usd', unit_amount: 2000, recurring: c.recurring });
    ({ meter, perHour: price, seat } = c);
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

  const advance = (clockId: string, to: number) => advanceClock(stripe, clockId, to);

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

  it('subscription_details items with proration_behavior: the invoice items a change would make, and the credits that would apply to them', async () => {
    const { clock, customer, sub } = await subscribed('preview item changes');
    await advance(clock.id, MID);
    await usage(customer.id, 150, MID - 3600);
    await stripe.billing.creditGrants.create({
      customer: customer.id,
      category: 'paid',
      amount: { type: 'monetary', monetary: { currency: 'usd', value: 1000 } },
      applicability_config: { scope: { price_type: 'metered' } },
    });
    const carItem = sub.items.data.find((i) => i.price.id === price.id)!;
    const seatItem = sub.items.data.find((i) => i.price.id === seat.id)!;
    const shape = (inv: Stripe.Invoice) =>
      inv.lines.data.map((l) => [
        l.parent?.type,
        l.amount,
        l.quantity,
        l.period.start,
        l.period.end,
        l.pretax_credit_amounts?.[0]?.amount ?? 0,
      ]);

    // flexible metered price change (seed 001): the old price's usage [T0, MID) as an invoice-item
    // line (150 minutes -> 3 hours = 30.00); the 10.00 metered grant would pay part of it.
    const repriced = await stripe.invoices.createPreview({
      subscription: sub.id,
      subscription_details: { items: [{ id: carItem.id, price: dearer.id }], proration_behavior: 'create_prorations' },
    });
    expect(repriced).toMatchObject({ billing_reason: 'upcoming', subtotal: 4000, total: 3000, amount_due: 3000 });
    expect(shape(repriced)).toEqual(
      expect.arrayContaining([
        ['invoice_item_details', 3000, 150, T0, MID, 1000],
        ['subscription_item_details', 1000, 2, PERIOD_END, Date.UTC(2026, 2, 1) / 1000, 0],
      ]),
    );
    const invoicedNow = await stripe.invoices.createPreview({
      subscription: sub.id,
      subscription_details: { items: [{ id: carItem.id, price: dearer.id }], proration_behavior: 'always_invoice' },
    });
    expect(invoicedNow).toMatchObject({ billing_reason: 'subscription_update', subtotal: 3000, total: 2000, amount_due: 2000 });
    expect(shape(invoicedNow)).toEqual([['invoice_item_details', 3000, 150, T0, MID, 1000]]);
    const dropped = await stripe.invoices.createPreview({
      subscription: sub.id,
      subscription_details: { items: [{ id: carItem.id, price: dearer.id }], proration_behavior: 'none' },
    });
    expect(dropped.lines.data.some((l) => l.parent?.type === 'invoice_item_details')).toBe(false);

    // 2 -> 4 seats on Jan 11 (21 of January's 31 days left): credit 10.00 x 21/31 = 6.77, charge
    // 20.00 x 21/31 = 13.55; prorations are not usage, so no credit applies to them.
    const seats = await stripe.invoices.createPreview({
      subscription: sub.id,
      subscription_details: { items: [{ id: seatItem.id, quantity: 4 }], proration_behavior: 'always_invoice' },
    });
    expect(seats).toMatchObject({ billing_reason: 'subscription_update', subtotal: 678, total: 678, amount_due: 678 });
    expect(shape(seats).sort((a, b) => Number(a[1]) - Number(b[1]))).toEqual([
      ['invoice_item_details', -677, 2, MID, PERIOD_END, 0],
      ['invoice_item_details', 1355, 4, MID, PERIOD_END, 0],
    ]);
    const seatsLater = await stripe.invoices.createPreview({
      subscription: sub.id,
      subscription_details: { items: [{ id: seatItem.id, quantity: 4 }] },
    });
    // the upcoming invoice: 30.00 usage, both prorations, 4 seats in advance (20.00); 10.00 credited
    expect(seatsLater).toMatchObject({ billing_reason: 'upcoming', subtotal: 3000 - 677 + 1355 + 2000, total: 3000 - 677 + 1355 + 1000 });

    // Nothing was written.
    expect(await stripe.invoiceItems.list({ customer: customer.id, pending: true })).toMatchObject({ data: [] });
    expect((await stripe.subscriptions.retrieve(sub.id)).items.data.map((i) => [i.price.id, i.quantity ?? null])).toEqual([
      [price.id, null],
      [seat.id, 2],
    ]);

    // Made for real, the upcoming invoice is the same: each pending invoice item once.
    await stripe.subscriptionItems.update(seatItem.id, { quantity: 4 });
    await eventually(async () =>
      (await stripe.invoiceItems.list({ customer: customer.id, pending: true })).data.length === 2 ? true : undefined,
    );
    const made = await stripe.invoices.createPreview({ subscription: sub.id });
    expect(made).toMatchObject({ subtotal: seatsLater.subtotal, total: seatsLater.total });
    expect(
      made.lines.data
        .filter((l) => l.parent?.type === 'invoice_item_details')
        .map((l) => l.amount)
        .sort((a, b) => a - b),
    ).toEqual([-677, 1355]);
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
