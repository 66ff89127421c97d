import { describe, expect, it } from 'vitest';
import type { CreditExplanation, LineData } from '@meterflow/contracts';
import { draftInvoice, draftLine } from '../../test/invoice.fixtures.js';
import { assembleExplanation, explainLinesRequest, lineBasis } from './invoice-explanation.js';

/* Issue 8 item 10: every cent of an invoice explained, whatever its status. */

const line = (id: string, amount: number, over: Partial<LineData> = {}): LineData =>
  draftLine(id, amount, { quantity: 150, price: 'price_m', ...over });

const invoice = draftInvoice;

const credit = (cbtxn: string, amount: number): CreditExplanation => ({
  line: 'il_1',
  amount,
  credit_grant: 'credgr_1',
  credit_balance_transaction: cbtxn,
  grant: {
    id: 'credgr_1',
    name: null,
    category: 'paid',
    priority: 50,
    expires_at: null,
    effective_at: 0,
    created: 0,
    applies_to: { price_type: 'metered', prices: null },
  },
  order: { rank: 1, before_next_by: null, reason: 'the only grant drawn' },
  ledger_entry: { id: cbtxn },
  reinstated_by: null,
});

describe('what a line rests on', () => {
  const inv = { billing_reason: 'subscription_cycle' as const, created: 2_000 };
  it('given a metered line on a cycle invoice, then its usage', () => {
    expect(lineBasis(inv, line('il_1', 3000))).toBe('usage');
  });
  it('given a classic creation invoice, its metered line for a period not over at creation is a placeholder (issue 8 item 1)', () => {
    const creation = { billing_reason: 'subscription_create' as const, created: 1_000 };
    expect(lineBasis(creation, line('il_1', 0))).toBe('placeholder');
    // flexible backdating bills [backdate, creation): usage (issue 8 item 2)
    expect(lineBasis({ ...creation, created: 2_000 }, line('il_1', 500))).toBe('usage');
  });
  it('given a licensed line, then the quantity; an invoice item, its own amount', () => {
    expect(lineBasis(inv, line('il_1', 3000, { metered: false }))).toBe('quantity');
    expect(lineBasis(inv, line('il_1', 3000, { metered: false, type: 'invoice_item_details', price: null }))).toBe('fixed');
  });
  it('given a subscription change’s invoice items: a flexible usage item its usage, a proration its price and quantity (issue 8 items 5, 7)', () => {
    const item = { type: 'invoice_item_details' as const, invoice_item: 'ii_1' };
    expect(lineBasis(inv, line('il_1', 3000, { ...item }))).toBe('usage');
    const proration = line('il_2', -258, { ...item, metered: false, proration: true, quantity: 1, price: 'price_seat' });
    expect(lineBasis(inv, proration)).toBe('quantity');
    // rating is asked about it like a licensed line: it says the full period's amount and the part billed
    expect(explainLinesRequest(invoice([proration])).lines).toMatchObject([
      { key: 'il_2', price: 'price_seat', basis: 'quantity', proration: true, quantity: 1, amount: -258 },
    ]);
    // an invoice item of a price that is not a proration (a one-off) is its own amount
    expect(lineBasis(inv, line('il_3', 500, { ...item, metered: false }))).toBe('fixed');
  });
});

describe('assembling an explanation', () => {
  it('given a draft, then rating is asked about the lines it rated, and totals are the invoice’s', () => {
    const inv = invoice([line('il_1', 3000), line('il_2', 500, { type: 'invoice_item_details', price: null, metered: false })]);
    expect(explainLinesRequest(inv).lines).toMatchObject([
      { key: 'il_1', price: 'price_m', basis: 'usage', period: { start: 1_000, end: 2_000 }, quantity: 150, amount: 3000 },
    ]);
    expect(explainLinesRequest(inv).lines).toHaveLength(1);
    const e = assembleExplanation(inv, { results: {} }, { applied_at: null, credits: [] });
    expect([e.status, e.subtotal, e.total_credits, e.total]).toEqual(['draft', 3500, 0, 3500]);
    expect(e.lines.map((l) => [l.line, l.basis])).toEqual([
      ['il_1', 'usage'],
      ['il_2', 'fixed'],
    ]);
  });

  it('given credits applied, then total = subtotal − credits, and only the invoice’s own applications are listed', () => {
    const inv = invoice(
      [line('il_1', 3000)],
      [
        {
          type: 'RecordCreditApplications',
          at: 5_000,
          applications: [{ line: 'il_1', amount: '1000', credit_balance_transaction: 'cbtxn_1', credit_grant: 'credgr_1' }],
        },
        { type: 'FinalizeInvoice', at: 5_000, number: 'X-0001' },
      ],
    );
    const e = assembleExplanation(
      inv,
      { results: {} },
      { applied_at: 5_000, credits: [credit('cbtxn_1', 1000), credit('cbtxn_other', 5)] },
    );
    expect([e.status, e.subtotal, e.total_credits, e.total]).toEqual(['open', 3000, 1000, 2000]);
    expect(e.credits.map((c) => c.credit_balance_transaction)).toEqual(['cbtxn_1']);
    expect(e.credits_applied_at).toBe(5_000);
  });
});
