import type Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { eventually, stripeClient, advanceClock } from './helpers.js';

/**
 * Issue 8: the same objects and cents as Stripe. Every response below is also checked against
 * Stripe's schema by the client (`stripe-schema.ts`), so this spec reaches each kind of object
 * the SDK can list: customers, prices, subscriptions, invoices and their lines, invoice items,
 * grants, balance summaries and transactions, meters, event summaries and events.
 */
const T0 = Date.UTC(2026, 2, 1) / 1000; // 2026-03-01
const PERIOD_END = Date.UTC(2026, 3, 1) / 1000; // 2026-04-01
const AFTER_GRACE = PERIOD_END + 2 * 3600;

describe('same objects and cents as Stripe', () => {
  const stripe = stripeClient();

  const advance = (clockId: string, to: number) => advanceClock(stripe, clockId, to);

  async function meteredPrice(name: string, unit_amount: number, transform?: Stripe.PriceCreateParams.TransformQuantity) {
    const meter = await stripe.billing.meters.create({
      display_name: name,
      event_name: `${name.toLowerCase().replace(/\W/g, '_')}_${Date.now()}`,
      default_aggregation: { formula: 'sum' },
    });
    const price = await stripe.prices.create({
      currency: 'usd',
      product_data: { name },
      unit_amount,
      recurring: { interval: 'month', usage_type: 'metered', meter: meter.id },
      ...(transform ? { transform_quantity: transform } : {}),
    });
    return { meter, price };
  }

  it('line quantities before transform_quantity (metered and licensed), a grant scoped to a billable item, total after credits', async () => {
    const car = await meteredPrice('Car minutes', 1000, { divide_by: 60, round: 'up' });
    const van = await meteredPrice('Van units', 5);
    const seat = await stripe.prices.create({
      currency: 'usd',
      product_data: { name: 'Seats' },
      unit_amount: 500,
      recurring: { interval: 'month' },
      transform_quantity: { divide_by: 60, round: 'up' },
    });
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: T0, name: 'objects' });
    const customer = await stripe.customers.create({ name: 'Objects Co', test_clock: clock.id });
    const subscription = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: car.price.id }, { price: van.price.id }, { price: seat.id, quantity: 150 }],
    });

    // Seeds 000/002: a grant for one metered item. Here a billable item is a metered price (docs/credits.md).
    const grant = await stripe.billing.creditGrants.create({
      customer: customer.id,
      name: 'Van credit',
      category: 'promotional',
      amount: { type: 'monetary', monetary: { currency: 'usd', value: 1000 } },
      applicability_config: {
        scope: { billable_items: [{ id: van.price.id }] } as Stripe.Billing.CreditGrantCreateParams.ApplicabilityConfig.Scope,
      },
    });
    expect(grant.applicability_config.scope).toMatchObject({ prices: [{ id: van.price.id }] });
    await expect(
      stripe.billing.creditGrants.create({
        customer: customer.id,
        amount: { type: 'monetary', monetary: { currency: 'usd', value: 1000 } },
        applicability_config: {
          scope: { billable_items: [{ id: van.meter.id }] } as Stripe.Billing.CreditGrantCreateParams.ApplicabilityConfig.Scope,
        },
      }),
    ).rejects.toMatchObject({ statusCode: 400, param: 'applicability_config[scope][billable_items][0][id]' });

    for (const [meter, value, i] of [
      [car.meter, 150, 0],
      [van.meter, 400, 1],
    ] as const) {
      await stripe.billing.meterEvents.create({
        event_name: meter.event_name,
        payload: { stripe_customer_id: customer.id, value: String(value) },
        identifier: `${customer.id}-${i}`,
      });
      await eventually(async () => {
        const s = await stripe.billing.meters.listEventSummaries(meter.id, { customer: customer.id, start_time: T0, end_time: T0 + 3600 });
        return s.data[0]?.aggregated_value === value ? true : undefined;
      });
    }
    await advance(clock.id, AFTER_GRACE);

    const invoices = await stripe.invoices.list({ customer: customer.id });
    const cycle = invoices.data.find((i) => i.billing_reason === 'subscription_cycle')!;
    expect(cycle).toBeDefined();
    const lines = (await stripe.invoices.listLineItems(cycle.id!)).data;
    const lineOf = (price: string, start: number) =>
      lines.find((l) => l.pricing?.price_details?.price === price && l.period.start === start) ??
      invoices.data.flatMap((i) => i.lines.data).find((l) => l.pricing?.price_details?.price === price && l.period.start === start);

    // Issue 8 item 4: quantity before the transform, amount on the transformed quantity.
    expect(lineOf(car.price.id, T0)).toMatchObject({ quantity: 150, amount: 3000, pretax_credit_amounts: [] });
    expect(lineOf(seat.id, T0)).toMatchObject({ quantity: 150, amount: 1500 }); // 150 seats in packs of 60: 3 packs
    // Item 9: the billable-item grant pays the van line only.
    const vanLine = lineOf(van.price.id, T0)!;
    expect(vanLine).toMatchObject({ quantity: 400, amount: 2000 });
    expect(vanLine.pretax_credit_amounts).toMatchObject([{ amount: 1000, type: 'credit_balance_transaction' }]);
    // Item 3: total = subtotal − credits; amount_due follows.
    // 30.00 (car) + 20.00 (van) in arrears + 15.00 (seats, next period in advance) less the 10.00 van credit.
    expect([cycle.subtotal, cycle.total, cycle.total_excluding_tax, cycle.amount_due]).toEqual([6500, 5500, 5500, 5500]);

    const byItem = await stripe.billing.creditBalanceSummaries.retrieve({
      customer: customer.id,
      filter: {
        type: 'applicability_scope',
        applicability_scope: {
          billable_items: [{ id: van.price.id }],
        } as Stripe.Billing.CreditBalanceSummaryRetrieveParams.Filter.ApplicabilityScope,
      },
    });
    expect(byItem.balances).toMatchObject([{ available_balance: { monetary: { currency: 'usd', value: 0 } } }]);
    const carOnly = await stripe.billing.creditBalanceSummaries.retrieve({
      customer: customer.id,
      filter: { type: 'applicability_scope', applicability_scope: { prices: [{ id: car.price.id }] } },
    });
    expect(carOnly.balances).toEqual([]);

    // The rest of the objects, listed through the SDK (each checked against Stripe's schema).
    expect((await stripe.billing.creditGrants.list({ customer: customer.id })).data).toHaveLength(1);
    expect((await stripe.billing.creditBalanceTransactions.list({ customer: customer.id })).data.map((t) => t.type).sort()).toEqual([
      'credit',
      'debit',
    ]);
    await stripe.invoiceItems.create({ customer: customer.id, currency: 'usd', amount: 250, description: 'Pending fee' });
    expect((await stripe.invoiceItems.list({ customer: customer.id, pending: true })).data).toHaveLength(1);
    expect((await stripe.subscriptions.retrieve(subscription.id)).items.data).toHaveLength(3);
    await stripe.subscriptions.list({ customer: customer.id });
    await stripe.customers.retrieve(customer.id);
    await stripe.prices.list({ limit: 5 });
    await stripe.billing.meters.list({ limit: 5 });
    await stripe.invoices.retrieve(cycle.id!);
    await stripe.events.list({ limit: 20 });
  });
});
