import { afterAll, beforeAll, expect } from 'vitest';
import type Stripe from 'stripe';
import { reprorateLine, rerate, rerateLine, stepsAddUp } from '@meterflow/contracts';
import { eventually, explanationOf, stripeClient } from './helpers.js';

/*
 * Every cent explained, replayed (issue 8 item 10). Loaded before every e2e spec file (vitest
 * `setupFiles`): after the file's own tests, every invoice it created (ids are time-sortable:
 * the ones above the newest id seen before it began) is fetched with its explanation
 * (`GET /meterflow/v1/invoices/:id/explanation`), and the explanation must give the same cents:
 * each usage line re-rated from what the event store holds now (`rerateLine`, an implementation
 * of the rating rules independent of rating's; invoice-item lines of flexible usage too), steps
 * adding up to the line, a prorated line (licensed part period, proration invoice item) part of
 * its price × quantity re-rated, credits adding up to `total_pretax_credit_amounts`, each with
 * its ledger debit of the same amount.
 */

let before: string | null = null;

beforeAll(async () => {
  before = (await stripeClient().invoices.list({ limit: 1 })).data[0]?.id ?? null;
});

afterAll(async () => {
  const stripe = stripeClient();
  const created: string[] = [];
  for await (const inv of stripe.invoices.list({ limit: 100 })) {
    if (before !== null && inv.id! <= before) break;
    created.push(inv.id!);
  }
  for (const id of created) await eventually(() => explains(stripe, id), 10_000, 250);
});

/** The invoice's explanation gives its cents back; throws (for `eventually`) until it does. */
async function explains(stripe: Stripe, id: string): Promise<true> {
  const inv = await stripe.invoices.retrieve(id);
  const e = await explanationOf(id);
  const where = `invoice ${id} (${inv.status}, ${inv.billing_reason})`;
  const credits = (inv.total_pretax_credit_amounts ?? []).reduce((s, c) => s + c.amount, 0);
  expect([e.subtotal, e.total_credits, e.total, e.status], where).toEqual([inv.subtotal, credits, inv.total, inv.status]);
  expect(
    e.lines.reduce((s, l) => s + l.amount, 0),
    where,
  ).toBe(e.subtotal);
  for (const l of e.lines) {
    const at = `${where} line ${l.line} (${l.basis})`;
    if (l.rating) expect(stepsAddUp(l.rating), `${at}: steps add up`).toBe(true);
    if (l.basis === 'usage') {
      expect(l.usage, at).not.toBeNull();
      // After threshold invoices the window is rated whole, less what they billed (issue 8 item 6).
      const offset = l.threshold_offset?.amount ?? 0;
      expect(Math.max(0, (l.rating?.amount ?? 0) - offset), `${at}: rated on its aggregate`).toBe(l.amount);
      expect(l.rerated_amount, `${at}: rated again from the event store (rating)`).toBe(l.amount);
    }
    // A licensed line for part of a period, or a proration invoice item (issue 8 item 7): the full
    // period's amount it is a part of is its price × quantity, re-rated here.
    if (l.rating?.proration && l.pricing)
      expect(rerate(l.pricing, String(l.quantity ?? 1)), `${at}: full period re-rated`).toBe(l.rating.proration.full_amount);
    if (l.type === 'invoice_item_details' && l.price !== null && l.basis !== 'fixed')
      expect(l.rating, `${at}: a subscription change's invoice item is explained`).not.toBeNull();
    // ... and the part of the period it bills, where rating tells it (not a flexible credit).
    const part = reprorateLine(l);
    if (part !== null) expect(part, `${at}: proration re-prorated`).toBe(l.amount);
    const again = rerateLine(l);
    if (again !== null) expect(again, `${at}: re-rated from the explanation`).toBe(l.amount);
    if (l.basis === 'placeholder') expect(l.amount, at).toBe(0);
  }
  expect(
    e.credits.reduce((s, c) => s + c.amount, 0),
    `${where}: credits`,
  ).toBe(e.total_credits);
  for (const c of e.credits) {
    const entry = c.ledger_entry as unknown as Stripe.Billing.CreditBalanceTransaction;
    expect([entry.id, entry.credit_grant, entry.debit?.amount.monetary?.value], `${where}: ledger entry`).toEqual([
      c.credit_balance_transaction,
      c.credit_grant,
      c.amount,
    ]);
    if (inv.status === 'void') expect(c.reinstated_by, `${where}: reinstated`).not.toBeNull();
  }
  return true;
}
