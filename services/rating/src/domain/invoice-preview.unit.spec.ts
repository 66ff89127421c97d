import { describe, expect, it } from 'vitest';
import type { SubscriptionInvoiceItem } from '@meterflow/contracts';
import { previewOf, previewWindows, upcomingInvoice } from './invoice-preview.js';
import { createPrice } from './price.js';
import { meteredLine } from './rated-line.js';
import { createSubscription } from './subscription.decider.js';
import type { SubscriptionState } from './subscription.types.js';

// Issue 8 item 8: a preview is the invoice that would be issued, with the usage so far; for the
// next period end that is what closing the period would bill (reference §4 "Invoice timing":
// metered in arrears, licensed in advance).
const u = (iso: string): number => Date.parse(iso) / 1000;
const carRental = createPrice(
  {
    currency: 'usd',
    product: 'prod_car',
    unit_amount: 1000,
    recurring: { interval: 'month', usage_type: 'metered', meter: 'mtr_car' },
    transform_quantity: { divide_by: 60, round: 'up' },
  },
  'price_car',
  1,
);
const seat = createPrice({ currency: 'usd', product: 'prod_seat', unit_amount: 500, recurring: { interval: 'month' } }, 'price_seat', 1);
const START = u('2025-01-01T00:00:00Z');
const NOW = u('2025-01-10T00:00:00Z');

const sub = (extra: Partial<SubscriptionState> = {}): SubscriptionState => ({
  ...createSubscription({
    id: 'sub_1',
    now: START,
    customer: { id: 'cus_1', test_clock: null },
    items: [
      { id: 'si_car', price: carRental },
      { id: 'si_seat', price: seat, quantity: 2 },
    ],
    billing_mode: 'flexible',
  }),
  pending_invoices: [],
  ...extra,
});
const usage = (s: SubscriptionState, minutes: number) =>
  previewWindows(s, NOW).map((w) =>
    meteredLine({ subscription_item: w.item.id, price: w.item.price, start: w.start, end: w.end }, String(minutes), 'Car rental'),
  );

describe('invoice preview: the upcoming invoice with the usage so far', () => {
  it('metered usage from the period start to now, licensed items in advance for the next period', () => {
    const s = sub();
    expect(previewWindows(s, NOW)).toMatchObject([{ item: { id: 'si_car' }, start: START, end: NOW }]);
    const inv = upcomingInvoice(s, usage(s, 150), { prod_seat: 'Seat' });
    expect(inv).toMatchObject({ billing_reason: 'upcoming', period_start: START, period_end: u('2025-02-01T00:00:00Z') });
    expect(inv.lines).toMatchObject([
      { subscription_item: 'si_car', quantity: 150, amount: 3000, period: { start: START, end: NOW } },
      {
        subscription_item: 'si_seat',
        quantity: 2,
        amount: 1000,
        period: { start: u('2025-02-01T00:00:00Z'), end: u('2025-03-01T00:00:00Z') },
      },
    ]);
  });

  it('a subscription ending at the period end bills no licensed period in advance', () => {
    const s = sub({ cancel_at_period_end: true, cancel_at: u('2025-02-01T00:00:00Z') });
    expect(upcomingInvoice(s, usage(s, 60)).lines.map((l) => l.subscription_item)).toEqual(['si_car']);
  });

  it('usage already billed by a threshold invoice this period is not previewed again (issue 8 item 6)', () => {
    const s0 = sub();
    const billed = meteredLine({ subscription_item: 'si_car', price: carRental, start: START, end: NOW - 100 }, '90', 'Car rental');
    const s = sub({ threshold_lines: [billed] });
    expect(upcomingInvoice(s, usage(s0, 150)).lines[0]).toMatchObject({ quantity: 60, amount: 1000 });
  });

  it('pending lines (flexible: usage of a repriced item) are on it too', () => {
    const pending = meteredLine({ subscription_item: 'si_old', price: carRental, start: START, end: NOW - 10 }, '60', 'Car rental');
    const s = sub({ pending_lines: [pending] });
    expect(upcomingInvoice(s, usage(s, 0)).lines[0]).toEqual(pending);
  });

  it("invoice items a change already made are invoicing's pending items, not lines again; a previewed change's items are its invoice_items (issue 8 items 5, 7)", () => {
    const item = (id: string): SubscriptionInvoiceItem => ({
      ...meteredLine({ subscription_item: 'si_car', price: carRental, start: START, end: NOW - 10 }, '60', 'Car rental'),
      id,
      proration: false,
      credited_invoice_item: null,
    });
    const s = sub({ pending_invoice_items: [item('ii_made')] });
    const upcoming = upcomingInvoice(s, usage(s, 0));
    expect(upcoming.lines.map((l) => l.subscription_item)).toEqual(['si_car', 'si_seat']);
    expect(upcoming.invoice_items).toEqual([]);
    expect(upcomingInvoice(s, usage(s, 0), {}, [item('ii_preview0')]).invoice_items).toEqual([item('ii_preview0')]);
    const update = previewOf({
      idempotency_key: 'k',
      customer: 'cus_1',
      subscription: 'sub_1',
      currency: 'usd',
      billing_reason: 'subscription_update',
      period_start: START,
      period_end: NOW,
      created: NOW,
      test_clock: null,
      lines: [],
      invoice_items: [item('ii_made'), item('ii_preview0')],
    });
    expect(update).toMatchObject({
      billing_reason: 'subscription_update',
      lines: [],
      invoice_items: [item('ii_made'), item('ii_preview0')],
    });
  });

  it('a canceled subscription has no upcoming invoice (invoice_upcoming_none, 404)', () => {
    expect(() => upcomingInvoice(sub({ status: 'canceled' }), [])).toThrow(
      expect.objectContaining({ code: 'invoice_upcoming_none', status: 404 }),
    );
  });
});
