import type { Stripe } from '@meterflow/contracts';
import { totals, type Invoice, type Line } from './invoice.decider.js';

/** How many lines an invoice object embeds; the rest are paged through `invoices.lines`. */
export const EMBEDDED_LINES = 10;

const n = (b: bigint): number => Number(b);

export function renderLine(inv: Pick<Invoice, 'id' | 'subscription'>, l: Line): Stripe.InvoiceLineItem {
  const credits = l.credits.map((c) => ({
    amount: n(c.amount),
    credit_balance_transaction: c.credit_balance_transaction,
    type: 'credit_balance_transaction' as const,
  }));
  const subscription = l.subscription ?? inv.subscription;
  return {
    id: l.id,
    object: 'line_item',
    amount: n(l.amount),
    currency: l.currency,
    description: l.description,
    discount_amounts: [],
    discountable: !l.proration,
    discounts: [],
    invoice: inv.id,
    livemode: false,
    metadata: l.metadata,
    parent:
      l.type === 'subscription_item_details'
        ? {
            type: 'subscription_item_details',
            invoice_item_details: null,
            subscription_item_details: {
              invoice_item: l.invoice_item,
              proration: l.proration ?? false,
              proration_details: { credited_items: null },
              subscription,
              subscription_item: l.subscription_item ?? '',
            },
          }
        : {
            type: 'invoice_item_details',
            subscription_item_details: null,
            invoice_item_details: {
              invoice_item: l.invoice_item ?? '',
              proration: l.proration ?? false,
              proration_details: { credited_items: null },
              subscription,
            },
          },
    period: l.period,
    pretax_credit_amounts: credits,
    pricing: {
      type: 'price_details',
      ...(l.price ? { price_details: { price: l.price, product: l.product ?? '' } } : {}),
      unit_amount_decimal: l.unit_amount_decimal,
    },
    quantity: l.quantity,
    quantity_decimal: l.quantity === null ? null : String(l.quantity),
    subscription,
    subtotal: n(l.amount),
    taxes: [],
  } as Stripe.InvoiceLineItem;
}

export function renderInvoice(inv: Invoice): Stripe.Invoice {
  const t = totals(inv);
  const lines = inv.lines.map((l) => renderLine(inv, l));
  const credits = lines.flatMap((l) => l.pretax_credit_amounts ?? []);
  const obj = {
    id: inv.id,
    object: 'invoice',
    account_country: null,
    account_name: null,
    account_tax_ids: null,
    amount_due: n(t.amount_due),
    amount_overpaid: 0,
    amount_paid: n(t.amount_paid),
    amount_remaining: n(t.amount_remaining),
    amount_shipping: 0,
    application: null,
    attempt_count: 0,
    attempted: inv.status === 'paid' && !inv.paid_out_of_band && t.amount_paid > 0n,
    auto_advance: inv.auto_advance,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    automatically_finalizes_at: inv.status === 'draft' && inv.auto_advance ? inv.automatically_finalizes_at : null,
    billing_reason: inv.billing_reason,
    collection_method: inv.collection_method,
    created: inv.created,
    currency: inv.currency,
    custom_fields: null,
    customer: inv.customer,
    customer_account: null,
    customer_address: null,
    customer_email: null,
    customer_name: null,
    customer_phone: null,
    customer_shipping: null,
    customer_tax_exempt: 'none',
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: inv.description,
    discounts: [],
    due_date: inv.due_date,
    effective_at: inv.status_transitions.finalized_at,
    ending_balance: inv.status === 'draft' ? null : 0,
    footer: inv.footer,
    from_invoice: null,
    hosted_invoice_url: null,
    invoice_pdf: null,
    issuer: { type: 'self' },
    last_finalization_error: null,
    latest_revision: null,
    lines: {
      object: 'list',
      data: lines.slice(0, EMBEDDED_LINES),
      has_more: lines.length > EMBEDDED_LINES,
      total_count: lines.length,
      url: `/v1/invoices/${inv.id}/lines`,
    },
    livemode: false,
    metadata: inv.metadata,
    next_payment_attempt: null,
    number: inv.number,
    on_behalf_of: null,
    parent: inv.subscription
      ? { type: 'subscription_details', quote_details: null, subscription_details: { metadata: {}, subscription: inv.subscription } }
      : null,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: inv.period_end,
    period_start: inv.period_start,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: inv.status,
    status_transitions: { ...inv.status_transitions },
    subtotal: n(t.subtotal),
    subtotal_excluding_tax: n(t.subtotal),
    test_clock: inv.test_clock,
    total: n(t.total),
    total_discount_amounts: [],
    total_excluding_tax: n(t.total),
    total_pretax_credit_amounts: credits,
    total_taxes: [],
    webhooks_delivered_at: inv.created,
  };
  return obj as unknown as Stripe.Invoice;
}

/**
 * Invoice numbers: the customer's prefix (Stripe keeps one per customer; unique among customers,
 * `invoicePrefixCandidates`) and that customer's sequence, e.g. `3F9A12BC-0001`.
 */
export function invoiceNumber(prefix: string, sequence: number): string {
  return `${prefix}-${String(sequence).padStart(4, '0')}`;
}
