import type { RatedLine } from '@meterflow/contracts';
import { describe, expect, it } from 'vitest';
import { createPrice, type PriceObject } from './price.js';
import {
  decide,
  dueClosing,
  evolve,
  meteredWindows,
  nextDue,
  type CreateSubscriptionInput,
  type SubscriptionCommand,
  type SubscriptionEvent,
} from './subscription.decider.js';
import type { SubscriptionState } from './subscription.types.js';
import { toStripeSubscription } from './subscription.view.js';

const u = (iso: string): number => Date.parse(iso) / 1000;
const meteredPrice = (id: string, extra: Partial<Parameters<typeof createPrice>[0]> = {}): PriceObject =>
  createPrice(
    {
      currency: 'usd',
      product: 'prod_1',
      unit_amount: 1000,
      recurring: { interval: 'month', usage_type: 'metered', meter: 'mtr_1' },
      transform_quantity: { divide_by: 60, round: 'up' },
      ...extra,
    },
    id,
    1,
  );
const licensedPrice = (id: string): PriceObject =>
  createPrice({ currency: 'usd', product: 'prod_1', unit_amount: 500, recurring: { interval: 'month' } }, id, 1);

const NOW = u('2025-01-31T09:00:00Z');
const input = (extra: Partial<CreateSubscriptionInput> = {}): CreateSubscriptionInput => ({
  id: 'sub_1',
  now: NOW,
  customer: { id: 'cus_1', test_clock: 'clock_1' },
  items: [{ id: 'si_1', price: meteredPrice('price_a') }],
  ...extra,
});

/** given events, when command, then new events (and the state after). */
function given(events: SubscriptionEvent[]) {
  const state = events.reduce<SubscriptionState | null>(evolve, null);
  return {
    state,
    when(cmd: SubscriptionCommand) {
      const out = decide(cmd, state);
      return { events: out, state: out.reduce(evolve, state) };
    },
  };
}
const created = (extra: Partial<CreateSubscriptionInput> = {}) =>
  given([]).when({ type: 'CreateSubscription', input: input(extra) }).events;
const line = (amount: number, item = 'si_1'): RatedLine => ({
  subscription_item: item,
  price: 'price_a',
  product: 'prod_1',
  meter: 'mtr_1',
  quantity: 3,
  amount,
  currency: 'usd',
  unit_amount_decimal: '1000',
  description: 'usage',
  period: { start: 0, end: 0 },
});

describe('subscription creation', () => {
  it('given a metered monthly price, then an active flexible subscription whose item period ends on the anchor schedule', () => {
    const s = given(created()).state!;
    expect(s.status).toBe('active');
    expect(s.billing_mode.type).toBe('flexible');
    expect(s.items[0]).toMatchObject({ quantity: null, current_period_start: NOW, current_period_end: u('2025-02-28T09:00:00Z') });
    const obj = toStripeSubscription(s);
    expect(obj).not.toHaveProperty('current_period_start');
    expect(obj.items.data[0]).not.toHaveProperty('quantity');
    expect(obj.items.data[0]!.current_period_end).toBe(u('2025-02-28T09:00:00Z'));
    expect(obj.test_clock).toBe('clock_1');
  });
  it('given billing_mode classic, then classic', () => {
    expect(given(created({ billing_mode: 'classic' })).state!.billing_mode.type).toBe('classic');
  });
  it('refuses a quantity on a metered item', () => {
    expect(() => created({ items: [{ id: 'si_1', price: meteredPrice('price_a'), quantity: 2 }] })).toThrow(/Quantity should not/);
  });
  it('refuses items with different intervals or currencies', () => {
    const yearly = createPrice({ currency: 'usd', product: 'p', unit_amount: 1, recurring: { interval: 'year' } }, 'price_y', 1);
    expect(() =>
      created({
        items: [
          { id: 'si_1', price: meteredPrice('price_a') },
          { id: 'si_2', price: yearly },
        ],
      }),
    ).toThrow(/interval/);
    const eur = meteredPrice('price_e', { currency: 'eur' });
    expect(() =>
      created({
        items: [
          { id: 'si_1', price: meteredPrice('price_a') },
          { id: 'si_2', price: eur },
        ],
      }),
    ).toThrow(/currency/);
  });
  it('refuses a one-time price', () => {
    const once = createPrice({ currency: 'usd', product: 'p', unit_amount: 1 }, 'price_o', 1);
    expect(() => created({ items: [{ id: 'si_1', price: once }] })).toThrow(/recurring/);
  });
  it('given billing_cycle_anchor_config day 31, then the first period ends on the last day of the month', () => {
    const s = given(created({ now: u('2025-04-10T00:00:00Z'), billing_cycle_anchor_config: { day_of_month: 31 } })).state!;
    expect(s.period).toEqual({ start: u('2025-04-10T00:00:00Z'), end: u('2025-04-30T00:00:00Z') });
    expect(s.billing_cycle_anchor).toBe(u('2025-04-30T00:00:00Z'));
  });
  it('given a future billing_cycle_anchor, then a short first period up to it', () => {
    const anchor = u('2025-02-15T00:00:00Z');
    expect(given(created({ billing_cycle_anchor: anchor })).state!.period.end).toBe(anchor);
  });
  it('refuses an anchor in the past and both anchor forms together', () => {
    expect(() => created({ billing_cycle_anchor: NOW - 1 })).toThrow(/past/);
    expect(() => created({ billing_cycle_anchor: NOW + 10, billing_cycle_anchor_config: { day_of_month: 1 } })).toThrow(/only specify one/);
  });
  // seed 001 "遡及適用するサブスクリプションを作成する": classic bills the backdated usage on the next
  // cycle invoice; flexible on the subscription's first invoice (issue 8 item 2).
  it('given backdate_start_date in classic mode, then the first period starts at the backdate so the cycle invoice bills earlier usage', () => {
    const s = given(created({ backdate_start_date: u('2025-01-15T00:00:00Z'), billing_mode: 'classic' })).state!;
    expect(s.start_date).toBe(u('2025-01-15T00:00:00Z'));
    expect(s.items[0]!.current_period_start).toBe(u('2025-01-15T00:00:00Z'));
    expect(s.period.end).toBe(u('2025-02-28T09:00:00Z'));
  });
  it('given backdate_start_date in flexible mode, then the backdated usage is its own subscription_create invoice and the period starts at creation', () => {
    const back = u('2025-01-15T00:00:00Z');
    const usage = { ...line(3000), period: { start: back, end: NOW } };
    const s = given(created({ backdate_start_date: back, backdated_lines: [usage] })).state!;
    expect(s.start_date).toBe(back);
    expect(s.period.start).toBe(NOW);
    expect(s.items[0]!.current_period_start).toBe(NOW);
    expect(s.pending_invoices).toHaveLength(1);
    expect(s.pending_invoices[0]).toMatchObject({ billing_reason: 'subscription_create', created: NOW, lines: [usage] });
    // the first cycle bills [creation, first boundary) only
    expect(meteredWindows(s, s.period.end)[0]).toMatchObject({ start: NOW, end: s.period.end });
  });
  it('given a flexible backdate with no usage, then no empty invoice', () => {
    const none = { ...line(0), quantity: 0 };
    expect(given(created({ backdate_start_date: NOW - 86400, backdated_lines: [none] })).state!.pending_invoices).toEqual([]);
  });
  it('given a flexible backdate and proration_behavior=none, then the backdated usage is not billed (reference §4 backdate_start_date)', () => {
    const s = given(created({ backdate_start_date: NOW - 86400, backdated_lines: [line(3000)], proration_behavior: 'none' })).state!;
    expect(s.pending_invoices).toEqual([]);
    expect(s.period.start).toBe(NOW);
  });
});

// Issue 8 item 1 / reference §4 (billing_mode): classic issues a subscription_create invoice with
// a 0-amount line per metered item for [start, first period end); flexible issues no empty invoice.
describe('the creation invoice', () => {
  it('given classic mode and only metered items, then a subscription_create invoice with one 0-amount line per item', () => {
    const s = given(
      created({
        billing_mode: 'classic',
        items: [
          { id: 'si_1', price: meteredPrice('price_a') },
          { id: 'si_2', price: meteredPrice('price_b') },
        ],
        product_names: { prod_1: 'Car rental' },
      }),
    ).state!;
    expect(s.pending_invoices).toHaveLength(1);
    const inv = s.pending_invoices[0]!;
    expect(inv).toMatchObject({ billing_reason: 'subscription_create', created: NOW, period_start: NOW, period_end: s.period.end });
    expect(inv.lines.map((l) => [l.subscription_item, l.amount, l.quantity, l.period])).toEqual([
      ['si_1', 0, 0, { start: NOW, end: s.period.end }],
      ['si_2', 0, 0, { start: NOW, end: s.period.end }],
    ]);
  });
  it('given flexible mode and only metered items, then no creation invoice', () => {
    expect(given(created({ billing_mode: 'flexible' })).state!.pending_invoices).toEqual([]);
  });
  it('when invoicing acknowledges the creation invoice, then it is the latest_invoice', () => {
    const evs = created({ billing_mode: 'classic' });
    const key = given(evs).state!.pending_invoices[0]!.idempotency_key;
    const acked = given(evs).when({ type: 'AcknowledgeInvoice', idempotency_key: key, invoice: 'in_c' });
    expect(acked.state).toMatchObject({ latest_invoice: 'in_c', pending_invoices: [] });
  });
});

describe('period close', () => {
  const closing = (s: SubscriptionState) => dueClosing(s, s.period.end)!;
  it('given the period end is reached, when closed with rated lines, then an invoice is requested and the items roll from the anchor', () => {
    const g = given(created());
    const c = closing(g.state!);
    expect(c).toEqual({ period_start: NOW, period_end: u('2025-02-28T09:00:00Z'), ending: false });
    const { events, state } = g.when({ type: 'ClosePeriod', closing: c, lines: [line(3000)] });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'SubscriptionPeriodClosed',
      data: {
        invoice: {
          idempotency_key: `sub_1:${NOW}:subscription_cycle`,
          billing_reason: 'subscription_cycle',
          created: u('2025-02-28T09:00:00Z'),
          test_clock: 'clock_1',
          lines: [{ amount: 3000 }],
        },
      },
    });
    // Jan 31 anchor: Feb 28 -> Mar 31 (not Mar 28)
    expect(state!.items[0]).toMatchObject({
      current_period_start: u('2025-02-28T09:00:00Z'),
      current_period_end: u('2025-03-31T09:00:00Z'),
    });
    expect(state!.pending_invoices).toHaveLength(1);
  });
  it('is idempotent: closing the same period twice records nothing the second time', () => {
    const g = given(created());
    const c = closing(g.state!);
    const first = g.when({ type: 'ClosePeriod', closing: c, lines: [] });
    expect(given([...created(), ...first.events]).when({ type: 'ClosePeriod', closing: c, lines: [] }).events).toEqual([]);
  });
  it('before the period end nothing is due', () => {
    const s = given(created()).state!;
    expect(dueClosing(s, s.period.end - 1)).toBeNull();
    expect(nextDue(s)).toBe(s.period.end);
  });
  it('when invoicing acknowledges, then latest_invoice is set and nothing is pending', () => {
    const g = given(created());
    const closed = g.when({ type: 'ClosePeriod', closing: closing(g.state!), lines: [] });
    const key = closed.state!.pending_invoices[0]!.idempotency_key;
    const acked = given([...created(), ...closed.events]).when({ type: 'AcknowledgeInvoice', idempotency_key: key, invoice: 'in_1' });
    expect(acked.state!.latest_invoice).toBe('in_1');
    expect(acked.state!.pending_invoices).toEqual([]);
    // a repeated acknowledgement is a no-op
    expect(
      given([...created(), ...closed.events, ...acked.events]).when({ type: 'AcknowledgeInvoice', idempotency_key: key, invoice: 'in_1' })
        .events,
    ).toEqual([]);
  });
  it('when invoicing accepted the invoice before the close was recorded, then one event, nothing pending', () => {
    const g = given(created());
    const { events, state } = g.when({
      type: 'ClosePeriod',
      closing: dueClosing(g.state!, g.state!.period.end)!,
      lines: [],
      accepted_invoice: 'in_9',
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'SubscriptionPeriodClosed', data: { invoice_id: 'in_9' } });
    expect(state).toMatchObject({ latest_invoice: 'in_9', pending_invoices: [] });
  });
  it('metered windows run from each item start to the close', () => {
    const s = given(created()).state!;
    expect(meteredWindows(s, s.period.end).map((w) => [w.item.id, w.start, w.end])).toEqual([['si_1', NOW, s.period.end]]);
  });
  it('licensed items have no usage window', () => {
    const s = given(created({ items: [{ id: 'si_1', price: licensedPrice('price_l') }] })).state!;
    expect(s.items[0]!.quantity).toBe(1);
    expect(meteredWindows(s, s.period.end)).toEqual([]);
  });
});

describe('cancellation', () => {
  it('given cancel_at_period_end, when the period closes, then a final invoice and the subscription ends', () => {
    const g = given(created());
    const upd = g.when({ type: 'UpdateSubscription', now: NOW + 10, cancel_at_period_end: true });
    expect(upd.state).toMatchObject({ cancel_at_period_end: true, cancel_at: g.state!.period.end, canceled_at: NOW + 10 });
    const s = upd.state!;
    const c = dueClosing(s, s.period.end)!;
    expect(c.ending).toBe(true);
    const closed = given([...created(), ...upd.events]).when({ type: 'ClosePeriod', closing: c, lines: [line(100)] });
    expect(closed.events[0]!.type).toBe('SubscriptionCanceled');
    expect(closed.state).toMatchObject({ status: 'canceled', ended_at: s.period.end });
    expect(closed.state!.pending_invoices[0]!.lines[0]!.amount).toBe(100);
    expect(nextDue(closed.state!)).toBeNull();
  });
  it('given cancel_at_period_end then reactivated, the period rolls normally', () => {
    const g = given(created());
    const a = g.when({ type: 'UpdateSubscription', now: NOW + 10, cancel_at_period_end: true });
    const b = given([...created(), ...a.events]).when({ type: 'UpdateSubscription', now: NOW + 20, cancel_at_period_end: false });
    expect(b.state).toMatchObject({ cancel_at: null, cancel_at_period_end: false, canceled_at: null });
    expect(dueClosing(b.state!, b.state!.period.end)!.ending).toBe(false);
  });
  it('given cancel_at mid-period, then due at cancel_at, usage window ends there', () => {
    const g = given(created());
    const at = NOW + 5 * 86400;
    const s = g.when({ type: 'UpdateSubscription', now: NOW + 1, cancel_at: at }).state!;
    expect(nextDue(s)).toBe(at);
    expect(dueClosing(s, at)).toEqual({ period_start: NOW, period_end: at, ending: true });
  });
  it('when canceled now with invoice_now, then a final invoice for usage so far', () => {
    const g = given(created());
    const { events, state } = g.when({ type: 'Cancel', now: NOW + 100, invoice_now: true, prorate: false, lines: [line(700)] });
    expect(events[0]).toMatchObject({
      type: 'SubscriptionCanceled',
      data: { ended_at: NOW + 100, invoice: { billing_reason: 'subscription_update', period_end: NOW + 100, lines: [{ amount: 700 }] } },
    });
    expect(state!.status).toBe('canceled');
  });
  it('when canceled now without invoice_now, then no invoice (usage is not billed)', () => {
    const g = given(created());
    const { events } = g.when({ type: 'Cancel', now: NOW + 100, invoice_now: false, prorate: false, lines: [line(700)] });
    expect(events[0]).toMatchObject({ data: { invoice: null } });
  });
  it('a canceled subscription only takes metadata', () => {
    const g = given(created());
    const c = g.when({ type: 'Cancel', now: NOW + 1, invoice_now: false, prorate: false, lines: [] });
    const after = given([...created(), ...c.events]);
    expect(() => after.when({ type: 'UpdateSubscription', now: NOW + 2, cancel_at_period_end: true })).toThrow(/canceled/);
    expect(after.when({ type: 'UpdateSubscription', now: NOW + 2, metadata: { a: 'b' } }).state!.metadata).toEqual({ a: 'b' });
    expect(() => after.when({ type: 'Cancel', now: NOW + 3, invoice_now: false, prorate: false, lines: [] })).toThrow(/canceled/);
  });
});

describe('mid-cycle metered price change', () => {
  const change = (mode: 'classic' | 'flexible', proration: 'create_prorations' | 'none' = 'create_prorations') => {
    const evs = created({ billing_mode: mode });
    const changed = given(evs).when({
      type: 'UpdateItem',
      now: NOW + 86400,
      item: 'si_1',
      price: meteredPrice('price_b', { unit_amount: 2000 }),
      proration_behavior: proration,
      usage_lines: [line(1234)],
    });
    return { evs: [...evs, ...changed.events], state: changed.state! };
  };
  it('flexible: the old price usage so far is billed on the next invoice; the item bills the new price from the change', () => {
    const { evs, state } = change('flexible');
    expect(state.items[0]).toMatchObject({ current_period_start: NOW + 86400, price: { id: 'price_b' } });
    expect(state.pending_lines.map((l) => l.amount)).toEqual([1234]);
    const closed = given(evs).when({ type: 'ClosePeriod', closing: dueClosing(state, state.period.end)!, lines: [line(50)] });
    expect(closed.state!.pending_invoices[0]!.lines.map((l) => l.amount)).toEqual([1234, 50]);
    expect(closed.state!.pending_lines).toEqual([]);
  });
  it('flexible with proration_behavior=none: the old usage is dropped', () => {
    expect(change('flexible', 'none').state.pending_lines).toEqual([]);
  });
  it('classic: usage before the change is not billed', () => {
    const { state } = change('classic');
    expect(state.pending_lines).toEqual([]);
    expect(meteredWindows(state, state.period.end)[0]!.start).toBe(NOW + 86400);
  });
  it('deleting a metered item in flexible mode bills its usage so far; the last item cannot be deleted', () => {
    const evs = created({
      items: [
        { id: 'si_1', price: meteredPrice('price_a') },
        { id: 'si_2', price: meteredPrice('price_b') },
      ],
    });
    const del = given(evs).when({
      type: 'DeleteItem',
      now: NOW + 5,
      item: 'si_2',
      proration_behavior: 'create_prorations',
      usage_lines: [line(9, 'si_2')],
    });
    expect(del.state!.items.map((i) => i.id)).toEqual(['si_1']);
    expect(del.state!.pending_lines).toHaveLength(1);
    expect(() =>
      given([...evs, ...del.events]).when({ type: 'DeleteItem', now: NOW + 6, item: 'si_1', proration_behavior: 'none', usage_lines: [] }),
    ).toThrow(/at least one/);
  });
  it('an item added mid-cycle bills usage from its addition to the common period end', () => {
    const a = given(created()).when({ type: 'AddItem', now: NOW + 100, item: { id: 'si_2', price: meteredPrice('price_b') } });
    expect(a.state!.items[1]).toMatchObject({ current_period_start: NOW + 100, current_period_end: a.state!.period.end });
  });
  it('migrating to flexible is one-way', () => {
    const a = given(created({ billing_mode: 'classic' })).when({ type: 'MigrateBillingMode', now: NOW + 1 });
    expect(a.state!.billing_mode).toEqual({ type: 'flexible', updated_at: NOW + 1 });
  });
});

describe('licensed items (billed in advance)', () => {
  const lic = () => [{ id: 'si_l', price: licensedPrice('price_l') }];
  it('given a licensed item, then a subscription_create invoice for the first period', () => {
    const s = given(created({ items: lic(), product_names: { prod_1: 'Seat' } })).state!;
    expect(s.pending_invoices).toHaveLength(1);
    expect(s.pending_invoices[0]).toMatchObject({
      idempotency_key: `sub_1:${NOW}:subscription_create`,
      billing_reason: 'subscription_create',
      period_start: NOW,
      period_end: s.period.end,
      created: NOW,
      lines: [
        {
          subscription_item: 'si_l',
          quantity: 1,
          amount: 500,
          meter: null,
          description: '1 × Seat',
          period: { start: NOW, end: s.period.end },
        },
      ],
    });
  });
  it('given a future anchor, then the first partial period is prorated by time and rounded once', () => {
    const anchor = u('2025-02-15T00:00:00Z');
    const s = given(created({ items: lic(), billing_cycle_anchor: anchor })).state!;
    // [Jan 31 09:00, Feb 15 00:00) of the full period [Jan 15, Feb 15): 351 h of 744 h
    expect(s.pending_invoices[0]!.lines[0]!.amount).toBe(236);
    expect(s.pending_invoices[0]!.lines[0]!.description).toMatch(/^Remaining time/);
  });
  it('given a future anchor and proration_behavior=none, then the partial period is free', () => {
    const s = given(created({ items: lic(), billing_cycle_anchor: u('2025-02-15T00:00:00Z'), proration_behavior: 'none' })).state!;
    expect(s.pending_invoices).toEqual([]);
  });
  it('only metered items (flexible): no creation invoice', () => {
    expect(given(created()).state!.pending_invoices).toEqual([]);
  });
  it('at period end, the cycle invoice bills metered usage in arrears and licensed items for the next period', () => {
    const evs = created({ items: [{ id: 'si_1', price: meteredPrice('price_a') }, ...lic()] });
    const s = given(evs).state!;
    const c = dueClosing(s, s.period.end)!;
    const closed = given(evs).when({ type: 'ClosePeriod', closing: c, lines: [line(3000)] });
    const inv = closed.state!.pending_invoices.find((i) => i.billing_reason === 'subscription_cycle')!;
    expect(inv.lines.map((l) => [l.subscription_item, l.amount, l.period.start, l.period.end])).toEqual([
      ['si_1', 3000, 0, 0],
      ['si_l', 500, u('2025-02-28T09:00:00Z'), u('2025-03-31T09:00:00Z')],
    ]);
  });
  it('a final (ending) close bills no licensed period in advance', () => {
    const evs = created({ items: lic(), cancel_at_period_end: true });
    const s = given(evs).state!;
    const closed = given(evs).when({ type: 'ClosePeriod', closing: dueClosing(s, s.period.end)!, lines: [] });
    expect(closed.state!.pending_invoices.find((i) => i.billing_reason === 'subscription_cycle')!.lines).toEqual([]);
  });
  it('a licensed item added mid-period is charged for the rest of the period on the next invoice', () => {
    const g = given(created());
    const half = g.state!.period.start + (g.state!.period.end - g.state!.period.start) / 2;
    const a = g.when({
      type: 'AddItem',
      now: half,
      item: { id: 'si_l', price: licensedPrice('price_l') },
      proration_behavior: 'create_prorations',
    });
    expect(a.state!.pending_lines.map((l) => l.amount)).toEqual([250]);
    const none = g.when({ type: 'AddItem', now: half, item: { id: 'si_l', price: licensedPrice('price_l') }, proration_behavior: 'none' });
    expect(none.state!.pending_lines).toEqual([]);
  });
});

describe('billing_cycle_anchor=now', () => {
  it('invoices the period so far and starts a new cycle anchored now', () => {
    const evs = created({
      items: [
        { id: 'si_1', price: meteredPrice('price_a') },
        { id: 'si_l', price: licensedPrice('price_l') },
      ],
    });
    const at = NOW + 10 * 86400;
    const r = given(evs).when({ type: 'ResetBillingCycleAnchor', now: at, lines: [line(700)] });
    const s = r.state!;
    expect(s.billing_cycle_anchor).toBe(at);
    expect(s.period).toEqual({ start: at, end: u('2025-03-10T09:00:00Z') });
    expect(s.items.every((i) => i.current_period_start === at)).toBe(true);
    const inv = s.pending_invoices.find((i) => i.billing_reason === 'subscription_update')!;
    expect(inv).toMatchObject({ period_start: NOW, period_end: at, created: at });
    expect(inv.lines.map((l) => [l.subscription_item, l.amount])).toEqual([
      ['si_1', 700],
      ['si_l', 500],
    ]);
    expect(nextDue(s)).toBe(u('2025-03-10T09:00:00Z'));
  });
});
