import type { BillingReason, InvoiceItemData, LineData, PreviewSubscriptionInvoiceReply, Stripe } from '@meterflow/contracts';
import type { Invoice, Line } from './invoice.decider.js';
import { itemForSubscription, lineForItem, lineForRated } from './invoice-item.decider.js';
import { renderInvoice, renderLine } from './invoice.render.js';

/*
 * Invoice preview (issue 8 item 8; `POST /v1/invoices/create_preview`): an invoice object that is
 * never stored. Stripe prefixes a preview's id with `upcoming_in` (stripe-api.md §9 ids; the
 * invoice schema's `id`) and its lines are not stored either (`il_tmp_`). Credits that would
 * apply show as `pretax_credit_amounts` without a transaction (`credit_balance_transaction:
 * null`, nullable in Stripe's schema): none exists until the invoice finalizes, and `total`
 * = subtotal − those credits, as on a finalized invoice (issue 8 item 3).
 */

export const previewInvoiceId = (body: string): string => `upcoming_in_${body}`;
export const previewLineId = (body: string): string => `il_tmp_${body}`;

export interface PreviewFrame {
  id: string;
  customer: string;
  currency: string;
  /** The customer's "now" (its test clock's time). */
  created: number;
  billing_reason: BillingReason;
  subscription: string | null;
  period_start: number;
  period_end: number;
  test_clock: string | null;
}

/**
 * The lines of a preview: what rating says the subscription would bill, then the invoice items
 * it would carry as invoice-item lines (issue 8 items 5, 7, 8): the customer's pending items
 * (invoicing's, with their ids) and those the previewed change would make, each once (an item
 * already pending is not added again from rating's list). A metered item (flexible usage of a
 * repriced item) stays metered, so the credits that would apply to it show (docs/credits.md).
 */
export function previewLines(
  rated: PreviewSubscriptionInvoiceReply['invoice'],
  pending: readonly InvoiceItemData[],
  frame: Pick<PreviewFrame, 'customer' | 'created' | 'test_clock'>,
  lineId: () => string,
): LineData[] {
  const have = new Set(pending.map((i) => i.id));
  const made = rated
    ? (rated.invoice_items ?? [])
        .filter((i) => !have.has(i.id))
        .map((i) => itemForSubscription(i, { ...frame, subscription: rated.subscription, currency: rated.currency }))
    : [];
  return [
    ...(rated?.lines ?? []).map((l) => lineForRated(l, lineId(), rated!.subscription)),
    ...[...pending, ...made].map((i) => lineForItem(i, lineId())),
  ];
}

/** Credits the ledger says would pay a line (`credits.preview`). */
export interface PreviewCredit {
  line: string;
  amount: number;
  credit_grant: string;
}

/** The in-memory draft a preview is: the frame, its lines, the credits that would apply. */
export function previewDraft(frame: PreviewFrame, lines: readonly LineData[], credits: readonly PreviewCredit[]): Invoice {
  const toLine = (l: LineData): Line => ({
    ...l,
    amount: BigInt(l.amount),
    credits: credits
      .filter((c) => c.line === l.id)
      .map((c) => ({ amount: BigInt(c.amount), credit_balance_transaction: '', credit_grant: c.credit_grant })),
  });
  return {
    ...frame,
    status: 'draft',
    deleted: false,
    collection_method: 'charge_automatically',
    auto_advance: false,
    automatically_finalizes_at: null,
    description: null,
    metadata: {},
    days_until_due: null,
    due_date: null,
    footer: null,
    idempotency_key: null,
    number: null,
    lines: lines.map(toLine),
    credits_applied: credits.length > 0,
    amount_paid: 0n,
    paid_out_of_band: false,
    status_transitions: { finalized_at: null, marked_uncollectible_at: null, paid_at: null, voided_at: null },
    updated: frame.created,
  };
}

type Credited = { pretax_credit_amounts?: { credit_balance_transaction?: unknown }[] | null };

/**
 * The Stripe object of a preview: rendered like any invoice, credits without a transaction, and
 * every line embedded (a preview is not stored, so there is no `lines` endpoint to page through).
 */
export function renderPreview(draft: Invoice): Stripe.Invoice {
  const untransacted = <T extends { credit_balance_transaction?: unknown }>(c: T): T => ({ ...c, credit_balance_transaction: null });
  const lines = draft.lines.map((l) => {
    const line = renderLine(draft, l) as Credited;
    return { ...line, pretax_credit_amounts: (line.pretax_credit_amounts ?? []).map(untransacted) };
  });
  const obj = renderInvoice(draft) as unknown as Record<string, unknown>;
  return {
    ...obj,
    lines: { object: 'list', data: lines, has_more: false, total_count: lines.length, url: `/v1/invoices/${draft.id}/lines` },
    total_pretax_credit_amounts: lines.flatMap((l) => l.pretax_credit_amounts),
    webhooks_delivered_at: null,
  } as unknown as Stripe.Invoice;
}
