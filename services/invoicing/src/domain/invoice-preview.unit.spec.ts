import type { LineData } from '@meterflow/contracts';
import { describe, expect, it } from 'vitest';
import { previewDraft, previewInvoiceId, previewLineId, renderPreview } from './invoice-preview.js';

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
