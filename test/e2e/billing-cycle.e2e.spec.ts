import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Stripe from 'stripe';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { eventually, natsClient, stripeClient, subject, advanceClock } from './helpers.js';

/**
 * The seed scenario (issue 3's acceptance case): a car-rental meter counts minutes, priced at
 * 10 USD per hour with divide_by=60 / round=up. 150 minutes in the first month bill 3 hours.
 */
const T0 = Date.UTC(2026, 0, 1) / 1000; // 2026-01-01T00:00:00Z
const PERIOD_END = Date.UTC(2026, 1, 1) / 1000; // 2026-02-01
const AFTER_GRACE = PERIOD_END + 2 * 3600;

describe('usage becomes an invoice; credits pay part of it', () => {
  const stripe = stripeClient();
  let nc: NatsConnection;
  let sub: Subscription;
  const received: { type: string; id: string; object: Record<string, unknown> }[] = [];
  let price: Stripe.Price;
  let meter: Stripe.Billing.Meter;

  beforeAll(async () => {
    nc = await natsClient();
    sub = nc.subscribe(subject('mf.events.>'), {
      callback: (_err, msg) => {
        const e = msg.json<{ id: string; type: string; data: { object: Record<string, unknown> } }>();
        received.push({ type: e.type, id: e.id, object: e.data.object });
      },
    });
    meter = await stripe.billing.meters.create({
      display_name: 'Car rental minutes',
      event_name: `car_rental_minutes_${Date.now()}`,
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
    expect(price).toMatchObject({ unit_amount: 1000, transform_quantity: { divide_by: 60, round: 'up' } });
    // SDK 23 reads decimal fields into its Decimal class: the server sent a decimal string.
    expect(String(price.unit_amount_decimal)).toBe('1000');
  });

  afterAll(async () => {
    sub?.unsubscribe();
    await nc?.drain();
  });

  async function rentalCustomer(name: string) {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: T0, name });
    const customer = await stripe.customers.create({ name, test_clock: clock.id });
    expect(customer.test_clock).toBe(clock.id);
    const subscription = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: price.id }] });
    expect(subscription.items.data[0]).toMatchObject({ current_period_start: T0, current_period_end: PERIOD_END });
    // 150 minutes of rentals, timestamped by the clock's "now".
    for (const [i, minutes] of [60, 60, 30].entries()) {
      await stripe.billing.meterEvents.create({
        event_name: meter.event_name,
        payload: { stripe_customer_id: customer.id, value: String(minutes) },
        identifier: `${customer.id}-rental-${i}`,
      });
    }
    await eventually(async () => {
      const s = await stripe.billing.meters.listEventSummaries(meter.id, { customer: customer.id, start_time: T0, end_time: T0 + 3600 });
      return s.data[0]?.aggregated_value === 150 ? true : undefined;
    });
    return { clock, customer, subscription };
  }

  const advance = (clockId: string, to: number) => advanceClock(stripe, clockId, to);

  it('bills 150 minutes as 3 hours = 30.00 USD, and pays it', async () => {
    const { clock, customer, subscription } = await rentalCustomer('rental without credit');
    await advance(clock.id, AFTER_GRACE);

    const invoices = await stripe.invoices.list({ customer: customer.id });
    expect(invoices.data).toHaveLength(1);
    const invoice = invoices.data[0]!;
    expect(invoice).toMatchObject({
      status: 'open',
      billing_reason: 'subscription_cycle',
      currency: 'usd',
      subtotal: 3000,
      total: 3000,
      amount_due: 3000,
      test_clock: clock.id,
    });
    expect(invoice.parent?.subscription_details?.subscription).toBe(subscription.id);
    expect(invoice.lines.data).toHaveLength(1);
    // The line's quantity is the usage before transform_quantity; the amount is rated on 3 hours (issue 8 item 4).
    expect(invoice.lines.data[0]).toMatchObject({ amount: 3000, quantity: 150, period: { start: T0, end: PERIOD_END } });

    const paid = await stripe.invoices.pay(invoice.id!, { paid_out_of_band: true });
    expect(paid).toMatchObject({ status: 'paid', amount_paid: 3000, amount_remaining: 0 });
    await eventually(async () => (received.some((e) => e.type === 'invoice.paid' && e.object.id === invoice.id) ? true : undefined));
  });

  it('applies a 10.00 USD paid credit grant, and gives it back when the invoice is voided', async () => {
    const { clock, customer } = await rentalCustomer('rental with credit');
    const grant = await stripe.billing.creditGrants.create({
      customer: customer.id,
      name: 'Prepaid rental credit',
      category: 'paid',
      amount: { type: 'monetary', monetary: { currency: 'usd', value: 1000 } },
      applicability_config: { scope: { price_type: 'metered' } },
    });
    expect(grant).toMatchObject({ object: 'billing.credit_grant', category: 'paid', test_clock: clock.id });

    await advance(clock.id, AFTER_GRACE);

    const invoices = await stripe.invoices.list({ customer: customer.id });
    expect(invoices.data).toHaveLength(1);
    const invoice = invoices.data[0]!;
    // Billing credits are pre-tax credits: total = subtotal − credits (issue 8 item 3).
    expect(invoice).toMatchObject({ status: 'open', subtotal: 3000, total: 2000, total_excluding_tax: 2000, amount_due: 2000 });
    const line = invoice.lines.data[0]!;
    expect(line).toMatchObject({ amount: 3000, quantity: 150 });
    expect(line.pretax_credit_amounts).toHaveLength(1);
    expect(line.pretax_credit_amounts![0]).toMatchObject({ amount: 1000, type: 'credit_balance_transaction' });
    expect(invoice.total_pretax_credit_amounts?.reduce((s, c) => s + c.amount, 0)).toBe(1000);

    const summary = await stripe.billing.creditBalanceSummaries.retrieve({
      customer: customer.id,
      filter: { type: 'applicability_scope', applicability_scope: { price_type: 'metered' } },
    });
    expect(summary.balances[0]?.available_balance.monetary).toEqual({ currency: 'usd', value: 0 });

    const txns = await stripe.billing.creditBalanceTransactions.list({ customer: customer.id });
    expect(txns.data).toHaveLength(2);
    const applied = txns.data.find((t) => t.type === 'debit')!;
    const granted = txns.data.find((t) => t.type === 'credit')!;
    expect(granted.credit).toMatchObject({ type: 'credits_granted', amount: { monetary: { currency: 'usd', value: 1000 } } });
    expect(applied.debit).toMatchObject({ type: 'credits_applied', amount: { monetary: { currency: 'usd', value: 1000 } } });
    expect(applied.debit?.credits_applied).toMatchObject({ invoice: invoice.id, invoice_line_item: line.id });
    expect(line.pretax_credit_amounts![0]!.credit_balance_transaction).toBe(applied.id);

    for (const type of ['invoice.created', 'invoice.finalized']) {
      await eventually(async () => (received.some((e) => e.type === type && e.object.id === invoice.id) ? true : undefined));
    }
    await eventually(async () =>
      received.some((e) => e.type === 'billing.credit_grant.created' && e.object.id === grant.id) ? true : undefined,
    );
    for (const t of txns.data) {
      await eventually(async () =>
        received.some((e) => e.type === 'billing.credit_balance_transaction.created' && e.object.id === t.id) ? true : undefined,
      );
    }
    const finalized = received.find((e) => e.type === 'invoice.finalized' && e.object.id === invoice.id);
    expect(finalized?.id).toMatch(/^evt_/);

    // Void: the credit comes back.
    const voided = await stripe.invoices.voidInvoice(invoice.id!);
    expect(voided.status).toBe('void');
    const reinstated = await eventually(async () => {
      const list = await stripe.billing.creditBalanceTransactions.list({ customer: customer.id });
      return list.data.find((t) => t.credit?.type === 'credits_application_invoice_voided');
    });
    expect(reinstated.credit).toMatchObject({
      amount: { monetary: { value: 1000 } },
      credits_application_invoice_voided: { invoice: invoice.id, invoice_line_item: line.id },
    });
    const after = await stripe.billing.creditBalanceSummaries.retrieve({
      customer: customer.id,
      filter: { type: 'credit_grant', credit_grant: grant.id },
    });
    expect(after.balances[0]?.available_balance.monetary?.value).toBe(1000);
  });
});
