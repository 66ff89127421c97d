import type { InvoiceItemData, LineData, SubscriptionInvoiceItem } from '@meterflow/contracts';
import { describe, expect, it } from 'vitest';
import { itemForSubscription } from './invoice-item.decider.js';
import { previewDraft, previewInvoiceId, previewLineId, previewLines, renderPreview } from './invoice-preview.js';

// Issue 8 item 8 and the invoice schema's `id` ("For preview invoices ... prefixed with
// `upcoming_in`"); credits as on a finalized invoice (issue 8 item 3: total = subtotal − credits).
const line = (id: string, amount: number, metered = true): LineData => ({
  id,
  type: metered ? 'subscription_item_details' : 'invoice_item_details',
  amount: String(amount),
  currency: 'usd',
  description: 'x',
  period: { start: 0, end: 10 },
  quantity: 1,
  unit_amount_decimal: null,
  price: 'price_1',
  product: 'prod_1',
  metered,
  subscription: 'sub_1',
  subscription_item: metered ? 'si_1' : null,
  invoice_item: metered ? null : 'ii_1',
  metadata: {},
});
const frame = {
  id: previewInvoiceId('abc'),
  customer: 'cus_1',
  currency: 'usd',
  created: 5,
  billing_reason: 'upcoming' as const,
  subscription: 'sub_1',
  period_start: 0,
  period_end: 10,
  test_clock: null,
};

describe('invoice preview object', () => {
  const lines = Array.from({ length: 12 }, (_, i) => line(previewLineId(String(i)), 250, i !== 11));
  const inv = renderPreview(previewDraft(frame, lines, [{ line: lines[0]!.id, amount: 100, credit_grant: 'credgr_1' }]));

  it('has an upcoming_in id, il_tmp lines, and is an unnumbered draft', () => {
    expect(inv.id).toBe('upcoming_in_abc');
    expect(inv.lines.data[0]!.id).toBe('il_tmp_0');
    expect(inv).toMatchObject({ object: 'invoice', status: 'draft', number: null, billing_reason: 'upcoming', auto_advance: false });
  });

  it('embeds every line (a preview has no lines endpoint)', () => {
    expect(inv.lines).toMatchObject({ has_more: false, total_count: 12 });
    expect(inv.lines.data).toHaveLength(12);
  });

  it('shows the credits that would apply, without a transaction, and total = subtotal − credits', () => {
    expect(inv.total_pretax_credit_amounts).toEqual([
      { amount: 100, credit_balance_transaction: null, type: 'credit_balance_transaction' },
    ]);
    expect(inv).toMatchObject({ subtotal: 3000, total: 2900, amount_due: 2900 });
  });
});

describe('invoice preview lines (issue 8 items 5, 7, 8)', () => {
  // A flexible price change's usage item (metered: credits apply) and a seat proration credit.
  const change = (id: string, amount: number, meter: string | null, proration: boolean): SubscriptionInvoiceItem => ({
    subscription_item: 'si_1',
    price: 'price_old',
    product: 'prod_1',
    meter,
    currency: 'usd',
    description: proration ? 'Unused time on 2 × Seat after 11 Jan 2026' : 'Car rental',
    period: { start: 0, end: 10 },
    quantity: proration ? 2 : 150,
    unit_amount_decimal: null,
    amount,
    id,
    proration,
    credited_invoice_item: null,
  });
  const frame = { customer: 'cus_1', created: 10, test_clock: null };
  const rated = (invoice_items: SubscriptionInvoiceItem[]) => ({
    subscription: 'sub_1',
    currency: 'usd',
    billing_reason: 'upcoming' as const,
    period_start: 0,
    period_end: 20,
    lines: [],
    invoice_items,
  });
  let n = 0;
  const lineId = () => previewLineId(String(n++));

  it('the invoice items a previewed change would make are invoice-item lines with their quantity; a metered one can take credits', () => {
    const lines = previewLines(
      rated([change('ii_preview0', 3000, 'mtr_1', false), change('ii_preview1', -677, null, true)]),
      [],
      frame,
      lineId,
    );
    expect(lines.map((l) => [l.type, l.invoice_item, l.amount, l.quantity, l.metered, l.proration ?? false])).toEqual([
      ['invoice_item_details', 'ii_preview0', '3000', 150, true, false],
      ['invoice_item_details', 'ii_preview1', '-677', 2, false, true],
    ]);
  });

  it('an item already pending is shown once, as invoicing holds it (a change invoicing at once carries it too)', () => {
    const made: InvoiceItemData = itemForSubscription(change('ii_real', 3000, 'mtr_1', false), {
      ...frame,
      subscription: 'sub_1',
      currency: 'usd',
    });
    const lines = previewLines(rated([change('ii_real', 3000, 'mtr_1', false)]), [made], frame, lineId);
    expect(lines.map((l) => [l.invoice_item, l.amount])).toEqual([['ii_real', '3000']]);
  });
});
