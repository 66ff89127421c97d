import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { eventually, stripeClient } from './helpers.js';

/**
 * Funding credits, as the seed's last section: a one-off invoice for a credit purchase is paid,
 * and the consumer of `invoice.paid` grants the credits (asked for by invoice metadata).
 */
describe('a paid credit-purchase invoice funds a credit grant', () => {
  it('one-off invoice with a decimal-priced item -> finalize -> pay -> grant of the paid amount', async () => {
    const stripe = stripeClient();
    const customer = await stripe.customers.create({ name: 'Prepaying Co' });

    const invoice = await stripe.invoices.create({
      customer: customer.id,
      currency: 'usd',
      metadata: { meterflow_credit_grant: 'true', meterflow_credit_grant_name: 'Prepaid minutes' },
    });
    expect(invoice).toMatchObject({ status: 'draft', auto_advance: false, billing_reason: 'manual', amount_due: 0 });

    // 1,000 prepaid minutes at 0.3333 cents each: 333.3 -> one half-up rounding per line -> 333.
    const item = await stripe.invoiceItems.create({
      customer: customer.id,
      invoice: invoice.id,
      currency: 'usd',
      quantity: 1000,
      unit_amount_decimal: Stripe.Decimal.from('0.3333'),
      description: '1,000 prepaid minutes',
    });
    expect(item).toMatchObject({ amount: 333, quantity: 1000, invoice: invoice.id });
    // A second, whole-cent item: the invoice total is the sum of rounded lines.
    await stripe.invoiceItems.create({ customer: customer.id, invoice: invoice.id, currency: 'usd', amount: 4667, description: 'Top-up' });

    const finalized = await stripe.invoices.finalizeInvoice(invoice.id!, { auto_advance: false });
    expect(finalized).toMatchObject({ status: 'open', subtotal: 5000, total: 5000, amount_due: 5000 });
    expect(finalized.number).toBeTruthy();

    const paid = await stripe.invoices.pay(invoice.id!, { paid_out_of_band: true });
    expect(paid).toMatchObject({ status: 'paid', amount_paid: 5000 });

    const grant = await eventually(async () => (await stripe.billing.creditGrants.list({ customer: customer.id })).data[0]);
    expect(grant).toMatchObject({
      customer: customer.id,
      name: 'Prepaid minutes',
      category: 'paid',
      amount: { type: 'monetary', monetary: { currency: 'usd', value: 5000 } },
      applicability_config: { scope: { price_type: 'metered' } },
      metadata: { meterflow_funding_invoice: invoice.id },
    });
    const summary = await stripe.billing.creditBalanceSummaries.retrieve({
      customer: customer.id,
      filter: { type: 'credit_grant', credit_grant: grant.id },
    });
    expect(summary.balances[0]?.available_balance.monetary).toEqual({ currency: 'usd', value: 5000 });

    // A paid invoice cannot be voided, and the grant is made once.
    await expect(stripe.invoices.voidInvoice(invoice.id!)).rejects.toMatchObject({ statusCode: 400 });
    await new Promise((r) => setTimeout(r, 500));
    expect((await stripe.billing.creditGrants.list({ customer: customer.id })).data).toHaveLength(1);
  });

  it('marks an open invoice uncollectible, then voids it', async () => {
    const stripe = stripeClient();
    const customer = await stripe.customers.create({ name: 'Slow payer' });
    await stripe.invoiceItems.create({ customer: customer.id, currency: 'usd', amount: 1250, description: 'Setup' });
    const invoice = await stripe.invoices.create({ customer: customer.id, pending_invoice_items_behavior: 'include' });
    expect(invoice.lines.data).toHaveLength(1);
    const open = await stripe.invoices.finalizeInvoice(invoice.id!);
    expect(open).toMatchObject({ status: 'open', amount_due: 1250 });
    const bad = await stripe.invoices.markUncollectible(invoice.id!);
    expect(bad.status).toBe('uncollectible');
    const voided = await stripe.invoices.voidInvoice(invoice.id!);
    expect(voided).toMatchObject({ status: 'void' });
    expect(voided.status_transitions.voided_at).toBeTypeOf('number');
  });
});
