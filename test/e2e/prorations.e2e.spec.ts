import { beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { eventually, explanationOf, stripeClient, advanceClock, carRentalCatalog } from './helpers.js';

/**
 * Issue 8 items 5 and 7: what a subscription change makes, through the official SDK on test
 * clocks (seed 001 "an invoice item is created"; stripe-api.md §4 "billing_mode", "Proration /
 * item removal", "Cancellation"; docs/lifecycle.md "Changes mid-cycle"). Each case is one
 * customer on its own clock; every object is checked against Stripe's schema by `stripeClient()`.
 *
 * January 2026 has 31 days; MID = Jan 16 00:00 leaves 16 of them: a 5.00 seat's unused time is
 * 500 x 16/31 = 258.06 -> 258, three seats' remaining time 1500 x 16/31 = 774.19 -> 774.
 */
const T0 = Date.UTC(2026, 0, 1) / 1000;
const MID = Date.UTC(2026, 0, 16) / 1000;
const JAN25 = Date.UTC(2026, 0, 25) / 1000;
const PERIOD_END = Date.UTC(2026, 1, 1) / 1000;
const AFTER_GRACE = PERIOD_END + 2 * 3600;

describe('subscription changes: invoice items and prorations', () => {
  const stripe = stripeClient();
  let meter: Stripe.Billing.Meter;
  let perHour: Stripe.Price;
  let perMinute: Stripe.Price;
  let seat: Stripe.Price;

  beforeAll(async () => {
    const c = await carRentalCatalog(stripe, 'proration_minutes');
    perMinute = await stripe.prices.create({ product: c.product.id, currency: 'usd', unit_amount: 10, recurring: c.recurring });
    ({ meter, perHour, seat } = c);
  });

  async function customerOnClock(name: string) {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: T0, name });
    const customer = await stripe.customers.create({ name, test_clock: clock.id });
    return { clock, customer };
  }

  /** `minutes` at `timestamp` (not after the clock's time); `total`: the customer's minutes in January so far. */
  async function usage(customer: string, minutes: number, timestamp: number, total = minutes) {
    await stripe.billing.meterEvents.create({
      event_name: meter.event_name,
      payload: { stripe_customer_id: customer, value: String(minutes) },
      identifier: `${customer}-${timestamp}-${minutes}`,
      timestamp,
    });
    await eventually(async () => {
      const s = await stripe.billing.meters.listEventSummaries(meter.id, { customer, start_time: T0, end_time: PERIOD_END });
      return (s.data[0]?.aggregated_value ?? 0) >= total ? true : undefined;
    });
  }

  const advance = (clockId: string, to: number) => advanceClock(stripe, clockId, to);

  const pending = async (customer: string) => (await stripe.invoiceItems.list({ customer, pending: true })).data;
  const invoices = async (customer: string) => (await stripe.invoices.list({ customer })).data;

  it('flexible price change mid-cycle: a pending invoice item bills the old price usage, the next invoice carries it, credits apply (item 5)', async () => {
    const { clock, customer } = await customerOnClock('flexible price change');
    await stripe.billing.creditGrants.create({
      customer: customer.id,
      category: 'paid',
      amount: { type: 'monetary', monetary: { currency: 'usd', value: 1000 } },
      applicability_config: { scope: { price_type: 'metered' } },
    });
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: perHour.id }],
      billing_mode: { type: 'flexible' },
    });
    const item = sub.items.data[0]!;
    await advance(clock.id, MID);
    await usage(customer.id, 150, T0 + 3600); // 150 minutes -> 3 hours at the old price: 30.00

    await stripe.subscriptionItems.update(item.id, { price: perMinute.id });
    const [ii] = await eventually(async () => {
      const p = await pending(customer.id);
      return p.length > 0 ? p : undefined;
    });
    expect(ii!.id).toMatch(/^ii_/);
    expect(ii).toMatchObject({
      amount: 3000,
      customer: customer.id,
      invoice: null,
      proration: false,
      quantity: 150,
      period: { start: T0, end: MID },
      parent: { type: 'subscription_details', subscription_details: { subscription: sub.id, subscription_item: item.id } },
      pricing: { price_details: { price: perHour.id } },
    });

    await advance(clock.id, MID + 7200);
    await usage(customer.id, 210, MID + 3600, 360); // at the new price: 210 x 0.10 = 21.00
    await advance(clock.id, AFTER_GRACE);
    const cycle = (await invoices(customer.id)).find((i) => i.billing_reason === 'subscription_cycle')!;
    const lines = cycle.lines.data.map((l) => [l.parent?.type, l.amount, l.pricing?.price_details?.price]);
    expect(lines).toEqual(
      expect.arrayContaining([
        ['invoice_item_details', 3000, perHour.id],
        ['subscription_item_details', 2100, perMinute.id],
      ]),
    );
    expect(cycle.lines.data).toHaveLength(2);
    const itemLine = cycle.lines.data.find((l) => l.parent?.type === 'invoice_item_details')!;
    expect(itemLine.parent?.invoice_item_details?.invoice_item).toBe(ii!.id);
    expect(itemLine.quantity).toBe(150); // item 4: the usage before transform_quantity, on the invoice-item line too
    // credits (metered scope) apply to the invoice item's line too: 10.00 of the 51.00
    expect(cycle).toMatchObject({ subtotal: 5100, total: 4100, amount_due: 4100 });
    expect((await stripe.invoiceItems.retrieve(ii!.id)).invoice).toBe(cycle.id);
    expect(await pending(customer.id)).toEqual([]);
  });

  it('flexible item removal with always_invoice invoices at once (billing_reason=subscription_update); none makes nothing (item 5)', async () => {
    const { clock, customer } = await customerOnClock('flexible removal');
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: perHour.id }, { price: seat.id }],
      billing_mode: { type: 'flexible' },
      proration_behavior: 'none',
    });
    const car = sub.items.data.find((i) => i.price.id === perHour.id)!;
    await advance(clock.id, MID);
    await usage(customer.id, 90, T0 + 3600); // 2 hours: 20.00

    // none: the price change bills nothing
    await stripe.subscriptionItems.update(car.id, { price: perMinute.id, proration_behavior: 'none' });
    expect(await pending(customer.id)).toEqual([]);

    await advance(clock.id, MID + 7200);
    await usage(customer.id, 30, MID + 3600, 120); // 30 minutes at 0.10: 3.00
    await stripe.subscriptionItems.del(car.id, { proration_behavior: 'always_invoice' });
    const update = await eventually(async () => (await invoices(customer.id)).find((i) => i.billing_reason === 'subscription_update'));
    expect(update.status).not.toBe('draft');
    expect(update.lines.data.map((l) => [l.parent?.type, l.amount, l.period.start, l.period.end])).toEqual([
      ['invoice_item_details', 300, MID, MID + 7200],
    ]);
    expect(update.total).toBe(300);
    expect(await pending(customer.id)).toEqual([]);
    expect((await stripe.subscriptions.retrieve(sub.id)).items.data.map((i) => i.price.id)).toEqual([seat.id]);
  });

  it('classic: seats 1 -> 3 mid-cycle credit the unused time and charge the remaining time; the cycle invoice carries them (item 7)', async () => {
    const { clock, customer } = await customerOnClock('classic seats');
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: seat.id, quantity: 1 }],
      billing_mode: { type: 'classic' },
    });
    await advance(clock.id, MID + 3600);
    await stripe.subscriptionItems.update(sub.items.data[0]!.id, { quantity: 3, proration_date: MID });
    const items = await eventually(async () => {
      const p = await pending(customer.id);
      return p.length === 2 ? p : undefined;
    });
    expect(
      items.map((i) => [i.amount, i.quantity, i.proration, i.period.start, i.period.end]).sort((a, b) => Number(a[0]) - Number(b[0])),
    ).toEqual([
      [-258, 1, true, MID, PERIOD_END],
      [774, 3, true, MID, PERIOD_END],
    ]);
    expect(items.map((i) => i.description).sort()).toEqual([
      'Remaining time on 3 × Seat after 16 Jan 2026',
      'Unused time on 1 × Seat after 16 Jan 2026',
    ]);

    await advance(clock.id, AFTER_GRACE);
    const cycle = (await invoices(customer.id)).find((i) => i.billing_reason === 'subscription_cycle')!;
    expect(cycle.lines.data.map((l) => [l.amount, l.quantity, l.parent?.type]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [-258, 1, 'invoice_item_details'],
      [774, 3, 'invoice_item_details'],
      [1500, 3, 'subscription_item_details'],
    ]);
    expect(cycle.total).toBe(2016);
    expect(await pending(customer.id)).toEqual([]);
    // Item 10: the proration lines explained: 5.00 x 1 and 5.00 x 3 for a full period, 16 of its 31 days billed.
    const explained = (await explanationOf(cycle.id!)).lines.filter((l) => l.type === 'invoice_item_details');
    expect(explained.map((l) => [l.amount, l.basis, l.rating?.proration]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [
        -258,
        'quantity',
        {
          full_amount: 500,
          amount: -258,
          period: { start: T0, end: PERIOD_END },
          remaining_seconds: 16 * 86400,
          period_seconds: 31 * 86400,
        },
      ],
      [
        774,
        'quantity',
        {
          full_amount: 1500,
          amount: 774,
          period: { start: T0, end: PERIOD_END },
          remaining_seconds: 16 * 86400,
          period_seconds: 31 * 86400,
        },
      ],
    ]);
  });

  it('classic recomputes the credit from the current price, flexible credits back what was debited (item 7)', async () => {
    const credits: Record<string, Stripe.InvoiceItem[]> = {};
    for (const mode of ['classic', 'flexible'] as const) {
      const { clock, customer } = await customerOnClock(`${mode} credits`);
      const sub = await stripe.subscriptions.create({
        customer: customer.id,
        items: [{ price: seat.id, quantity: 1 }],
        billing_mode: { type: mode },
      });
      const si = sub.items.data[0]!.id;
      await advance(clock.id, MID);
      await stripe.subscriptionItems.update(si, { quantity: 3 }); // -258, +774
      await stripe.subscriptionItems.update(si, { quantity: 2, proration_behavior: 'none' });
      await advance(clock.id, JAN25); // 7 days left
      await stripe.subscriptionItems.update(si, { quantity: 4 });
      credits[mode] = await eventually(async () => {
        const p = await pending(customer.id);
        return p.length === 4 ? p.filter((i) => i.period.start === JAN25) : undefined;
      });
    }
    const amounts = (xs: Stripe.InvoiceItem[]) => xs.map((i) => i.amount).sort((a, b) => a - b);
    // classic: 2 seats at 5.00 x 7/31 = 225.81 -> 226; flexible: half of the 7.74 charged from Jan 16 (7 of its 16 days) = 338.63 -> 339
    expect(amounts(credits.classic!)).toEqual([-226, 452]);
    expect(amounts(credits.flexible!)).toEqual([-339, 452]);
    const flexibleCredit = credits.flexible!.find((i) => i.amount < 0)!;
    expect(flexibleCredit.proration_details?.credited_items).toMatchObject({
      type: 'invoice_item',
      invoice_item: expect.stringMatching(/^ii_/),
    });
  });

  it('cancel with prorate=true and invoice_now=true credits the unused time on the final invoice (item 7)', async () => {
    const { clock, customer } = await customerOnClock('cancel prorate');
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: seat.id, quantity: 1 }, { price: perHour.id }],
      billing_mode: { type: 'classic' },
    });
    await advance(clock.id, MID);
    await usage(customer.id, 60, T0 + 3600); // 1 hour: 10.00
    await stripe.billing.creditGrants.create({
      customer: customer.id,
      category: 'paid',
      amount: { type: 'monetary', monetary: { currency: 'usd', value: 500 } },
      applicability_config: { scope: { price_type: 'metered' } },
    });
    const canceled = await stripe.subscriptions.cancel(sub.id, { prorate: true, invoice_now: true });
    expect(canceled.status).toBe('canceled');
    const final = await eventually(async () => (await invoices(customer.id)).find((i) => i.billing_reason === 'subscription_update'));
    const proration = (l: Stripe.InvoiceLineItem) =>
      l.parent?.invoice_item_details?.proration ?? l.parent?.subscription_item_details?.proration;
    expect(final.lines.data.map((l) => [l.amount, l.parent?.type, proration(l)]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [-258, 'invoice_item_details', true],
      [1000, 'subscription_item_details', false],
    ]);
    expect(final.total).toBe(742);
    // Item 3 on a final invoice: finalized after the grace period with the 5.00 metered credit on the usage line.
    await advance(clock.id, MID + 2 * 3600);
    const open = await stripe.invoices.retrieve(final.id!);
    expect([open.status, open.subtotal, open.total, open.total_excluding_tax, open.amount_due]).toEqual(['open', 742, 242, 242, 242]);
  });
});
