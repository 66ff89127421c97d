import { beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import { inject } from 'vitest';
import { rerateLine } from '@meterflow/contracts';
import { eventually, explanationOf, rawStripeClient, stripeClient, advanceClock } from './helpers.js';

/**
 * Every cent explained (issue 8 item 10), on the seed's car rental: 150 minutes at 10 USD per
 * hour (divide_by 60, round up), two grants of 5.00 drawn in Stripe's order. The draft, the open
 * invoice and the voided one are explained; the replay of every invoice of every spec file is
 * explanations.setup.ts.
 */
const T0 = Date.UTC(2026, 0, 1) / 1000;
const PERIOD_END = Date.UTC(2026, 1, 1) / 1000;

describe('GET /meterflow/v1/invoices/:id/explanation', () => {
  const stripe = stripeClient();
  let price: Stripe.Price;
  let meter: Stripe.Billing.Meter;

  beforeAll(async () => {
    meter = await stripe.billing.meters.create({
      display_name: 'Car rental minutes',
      event_name: `explained_minutes_${Date.now()}`,
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

  const advance = (clockId: string, to: number) => advanceClock(stripe, clockId, to);

  it('explains the meter, window, events, transform, steps and each credit with its grant, order and ledger entry', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: T0 });
    const customer = await stripe.customers.create({ name: 'explained', test_clock: clock.id });
    await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    const grant = (name: string, priority: number) =>
      stripe.billing.creditGrants.create({
        customer: customer.id,
        name,
        category: 'paid',
        priority,
        amount: { type: 'monetary', monetary: { currency: 'usd', value: 500 } },
        applicability_config: { scope: { price_type: 'metered' } },
      });
    const later = await grant('drawn second', 50);
    const first = await grant('drawn first', 10);
    for (const [i, minutes] of [60, 60, 30].entries())
      await stripe.billing.meterEvents.create({
        event_name: meter.event_name,
        payload: { stripe_customer_id: customer.id, value: String(minutes) },
        identifier: `${customer.id}-x-${i}`,
      });
    await eventually(async () => {
      const s = await stripe.billing.meters.listEventSummaries(meter.id, { customer: customer.id, start_time: T0, end_time: T0 + 3600 });
      return s.data[0]?.aggregated_value === 150 ? true : undefined;
    });

    // The draft, in the grace period: rated, no credits yet.
    await advance(clock.id, PERIOD_END + 60);
    const [draft] = (await stripe.invoices.list({ customer: customer.id, status: 'draft' })).data;
    const d = await explanationOf(draft!.id!);
    expect(d).toMatchObject({ object: 'invoice_explanation', status: 'draft', subtotal: 3000, total_credits: 0, total: 3000, credits: [] });

    await advance(clock.id, PERIOD_END + 2 * 3600);
    const open = await stripe.invoices.retrieve(draft!.id!);
    expect(open).toMatchObject({ status: 'open', subtotal: 3000, total: 2000 });
    const e = await explanationOf(open.id!);
    expect(e).toMatchObject({ status: 'open', subtotal: 3000, total_credits: 1000, total: 2000 });
    const [line] = e.lines;
    expect(line).toMatchObject({
      line: open.lines.data[0]!.id,
      basis: 'usage',
      price: price.id,
      quantity: 150,
      amount: 3000,
      usage: {
        meter: meter.id,
        formula: 'sum',
        window: { start: T0, end: PERIOD_END },
        rated_aggregate: '150',
        event_store: { aggregate: '150', events: 3 },
      },
      rating: {
        input_quantity: '150',
        transform: { divide_by: 60, round: 'up', exact: '2.5', billed_quantity: 3 },
        billed_quantity: 3,
        steps: [{ quantity: '3', unit_amount_decimal: '1000', amount_decimal: '3000' }],
        amount: 3000,
      },
      rerated_amount: 3000,
    });
    expect(rerateLine(line!)).toBe(3000);
    // Re-rating is not a tautology: 151 minutes would bill a fourth hour.
    expect(rerateLine({ ...line!, usage: { ...line!.usage!, event_store: { aggregate: '181', events: 4 } } })).toBe(4000);

    expect(e.credits.map((c) => [c.credit_grant, c.amount, c.order.rank, c.order.before_next_by])).toEqual([
      [first.id, 500, 1, 'priority'],
      [later.id, 500, 2, null],
    ]);
    expect(e.credits[0]!.order.reason).toContain('priority 10 before 50');
    const debit = await stripe.billing.creditBalanceTransactions.retrieve(e.credits[0]!.credit_balance_transaction);
    expect(e.credits[0]!.ledger_entry).toEqual(JSON.parse(JSON.stringify(debit)));
    expect(e.credits.every((c) => c.reinstated_by === null)).toBe(true);

    // Voided: each credit names the ledger credit that gave it back.
    await stripe.invoices.voidInvoice(open.id!);
    const v = await eventually(async () => {
      const x = await explanationOf(open.id!);
      return x.credits.every((c) => c.reinstated_by !== null) ? x : undefined;
    });
    expect(v.status).toBe('void');
    const back = await stripe.billing.creditBalanceTransactions.retrieve(v.credits[0]!.reinstated_by!);
    expect(back.credit).toMatchObject({ type: 'credits_application_invoice_voided', amount: { monetary: { value: 500 } } });
  });

  it('answers Stripe-shaped errors: an unknown invoice is a 404, no key a 401', async () => {
    await expect(explanationOf('in_doesnotexist')).rejects.toMatchObject({ statusCode: 404, code: 'resource_missing' });
    const anonymous = await fetch(`${inject('apiUrl')}/meterflow/v1/invoices/in_x/explanation`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
    await expect(rawStripeClient('sk_test_wrong').rawRequest('GET', '/meterflow/v1/invoices/in_x/explanation')).rejects.toMatchObject({
      statusCode: 401,
    });
  });
});
