import type {
  ExplainCreditsReply,
  ExplainLinesReply,
  ExplainLinesRequest,
  InvoiceExplanation,
  LineBasis,
  LineExplanation,
} from '@meterflow/contracts';
import { totals, type Invoice, type Line } from './invoice.decider.js';

/*
 * An invoice explained (issue 8 item 10): each line with what its amount rests on and how rating
 * priced it, each credit with its grant, order and ledger entry. Assembled here from the invoice
 * and the answers of rating (`billing.explain_lines`) and the ledger (`credits.explain`).
 */

/** Stripe's order for grants (stripe-api.md §5 "Order of application"), as the ledger applies it. */
export const CREDIT_ORDER =
  'Lines are paid in invoice order; each draws on the eligible grants that cover it by priority (lower first), ' +
  'then soonest expiry (none last), promotional before paid, earlier effective_at, earlier created, then id.';

/**
 * What a line's amount rests on. A metered line bills the usage of its period, except a classic
 * creation invoice's 0-amount line for a period not yet over when it was issued (issue 8 item 1,
 * domain/subscription-invoice.rules.ts: its usage is billed by the first cycle invoice); a
 * subscription line without a meter bills the item's quantity, and so (in part) does a proration
 * invoice item; any other line (a one-off invoice item) its own amount.
 */
export function lineBasis(
  inv: Pick<Invoice, 'billing_reason' | 'created'>,
  line: Pick<Line, 'metered' | 'type' | 'period' | 'price' | 'proration'>,
): LineBasis {
  if (line.metered) return inv.billing_reason === 'subscription_create' && line.period.end > inv.created ? 'placeholder' : 'usage';
  // A proration invoice item (issue 8 item 7) bills part of its price × quantity: rating explains
  // the full period's amount and the part billed, like a licensed line for part of a period.
  if (line.price !== null && (line.type === 'subscription_item_details' || line.proration === true)) return 'quantity';
  return 'fixed';
}

/** What to ask rating about this invoice's lines (keyed by line id): the ones it rated. */
export function explainLinesRequest(inv: Invoice): ExplainLinesRequest {
  const lines: ExplainLinesRequest['lines'] = [];
  for (const l of inv.lines) {
    const basis = lineBasis(inv, l);
    if ((basis === 'usage' || basis === 'quantity') && l.price !== null)
      lines.push({
        key: l.id,
        price: l.price,
        subscription: l.subscription ?? inv.subscription,
        subscription_item: l.subscription_item,
        basis,
        ...(l.proration === true ? { proration: true } : {}),
        period: l.period,
        quantity: l.quantity,
        amount: Number(l.amount),
      });
  }
  return { customer: inv.customer, lines };
}

export function assembleExplanation(inv: Invoice, rated: ExplainLinesReply, credits: ExplainCreditsReply): InvoiceExplanation {
  const t = totals(inv);
  const lines = inv.lines.map((l): LineExplanation => {
    const r = rated.results[l.id];
    return {
      line: l.id,
      type: l.type,
      description: l.description,
      price: l.price,
      product: l.product,
      subscription_item: l.subscription_item,
      invoice_item: l.invoice_item,
      period: l.period,
      quantity: l.quantity,
      amount: Number(l.amount),
      basis: lineBasis(inv, l),
      pricing: r?.pricing ?? null,
      usage: r?.usage ?? null,
      rating: r?.rating ?? null,
      rerated_amount: r?.rerated_amount ?? null,
      ...(r?.threshold_offset ? { threshold_offset: r.threshold_offset } : {}),
    };
  });
  return {
    object: 'invoice_explanation',
    invoice: inv.id,
    status: inv.status,
    billing_reason: inv.billing_reason,
    currency: inv.currency,
    customer: inv.customer,
    subscription: inv.subscription,
    period: { start: inv.period_start, end: inv.period_end },
    subtotal: Number(t.subtotal),
    total_credits: Number(t.credits),
    total: Number(t.total),
    lines,
    // The invoice's own applications are the facts; the ledger adds grant, order and entry.
    credits: credits.credits.filter((c) =>
      inv.lines.some((l) => l.credits.some((a) => a.credit_balance_transaction === c.credit_balance_transaction)),
    ),
    credits_applied_at: credits.applied_at,
    credit_order: CREDIT_ORDER,
  };
}
