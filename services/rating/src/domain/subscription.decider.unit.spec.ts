import type { RatedLine } from '@meterflow/contracts';
import { deciderSpec } from '@meterflow/testing';
import { describe, expect, it } from 'vitest';
import { createPrice, type PriceObject } from './price.js';
import { subscriptionDecider, type SubscriptionAnyEvent } from './subscription.aggregate.js';
import { dueClosing, meteredWindows, nextDue, type CreateSubscriptionInput, type SubscriptionCommand } from './subscription.decider.js';
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

/** given: past events; when: a command; then: the new events (with the state after), or the refusal. */
const given = (events: readonly SubscriptionAnyEvent[] = []) => deciderSpec(subscriptionDecider).given(events);
/** The state past events fold to. */
const stateOf = (events: readonly SubscriptionAnyEvent[]): SubscriptionState => given(events).state!;
/** The events a command records after `events` (to build the next given). */
function decided(events: readonly SubscriptionAnyEvent[], command: SubscriptionCommand): SubscriptionAnyEvent[] {
  let out: SubscriptionAnyEvent[] = [];
  given(events)
    .when(command)
    .then((e) => {
      out = e;
    });
  return out;
}
const create = (extra: Partial<CreateSubscriptionInput> = {}): SubscriptionCommand => ({ type: 'CreateSubscription', input: input(extra) });
const created = (extra: Partial<CreateSubscriptionInput> = {}) => decided([], create(extra));
/** A rated usage line of `item` (price `price`) over the window it has at creation. */
const line = (amount: number, item = 'si_1', price = 'price_a'): RatedLine => ({
  subscription_item: item,
  price,
  product: 'prod_1',
  meter: 'mtr_1',
  quantity: 3,
  amount,
  currency: 'usd',
  unit_amount_decimal: '1000',
  description: 'usage',
  period: { start: NOW, end: NOW },
});

describe('subscription creation', () => {
  it('given a metered monthly price, then an active flexible subscription whose item period ends on the anchor schedule', () => {
    given()
      .when(create())
      .then((_, s) => {
        expect(s!.status).toBe('active');
        expect(s!.billing_mode.type).toBe('flexible');
        expect(s!.items[0]).toMatchObject({ quantity: null, current_period_start: NOW, current_period_end: u('2025-02-28T09:00:00Z') });
        const obj = toStripeSubscription(s!);
        expect(obj).not.toHaveProperty('current_period_start');
        expect(obj.items.data[0]).not.toHaveProperty('quantity');
        expect(obj.items.data[0]!.current_period_end).toBe(u('2025-02-28T09:00:00Z'));
        expect(obj.test_clock).toBe('clock_1');
      });
  });
  it('given billing_mode classic, then classic', () => {
    expect(stateOf(created({ billing_mode: 'classic' })).billing_mode.type).toBe('classic');
  });
  it('refuses a quantity on a metered item', () => {
    given()
      .when(create({ items: [{ id: 'si_1', price: meteredPrice('price_a'), quantity: 2 }] }))
      .then(/Quantity should not/);
  });
  it('refuses items with different intervals or currencies', () => {
    const yearly = createPrice({ currency: 'usd', product: 'p', unit_amount: 1, recurring: { interval: 'year' } }, 'price_y', 1);
    given()
      .when(
        create({
          items: [
            { id: 'si_1', price: meteredPrice('price_a') },
            { id: 'si_2', price: yearly },
          ],
        }),
      )
      .then(/interval/);
    const eur = meteredPrice('price_e', { currency: 'eur' });
    given()
      .when(
        create({
          items: [
            { id: 'si_1', price: meteredPrice('price_a') },
            { id: 'si_2', price: eur },
          ],
        }),
      )
      .then(/currency/);
  });
  it('refuses a one-time price', () => {
    const once = createPrice({ currency: 'usd', product: 'p', unit_amount: 1 }, 'price_o', 1);
    given()
      .when(create({ items: [{ id: 'si_1', price: once }] }))
      .then(/recurring/);
  });
  it('given billing_cycle_anchor_config day 31, then the first period ends on the last day of the month', () => {
    const s = stateOf(created({ now: u('2025-04-10T00:00:00Z'), billing_cycle_anchor_config: { day_of_month: 31 } }));
    expect(s.period).toEqual({ start: u('2025-04-10T00:00:00Z'), end: u('2025-04-30T00:00:00Z') });
    expect(s.billing_cycle_anchor).toBe(u('2025-04-30T00:00:00Z'));
  });
  it('given a future billing_cycle_anchor, then a short first period up to it', () => {
    const anchor = u('2025-02-15T00:00:00Z');
    expect(stateOf(created({ billing_cycle_anchor: anchor })).period.end).toBe(anchor);
  });
  it('refuses an anchor in the past and both anchor forms together', () => {
    given()
      .when(create({ billing_cycle_anchor: NOW - 1 }))
      .then(/past/);
    given()
      .when(create({ billing_cycle_anchor: NOW + 10, billing_cycle_anchor_config: { day_of_month: 1 } }))
      .then(/only specify one/);
  });
  // seed 001 "遡及適用するサブスクリプションを作成する": classic bills the backdated usage on the next
  // cycle invoice; flexible on the subscription's first invoice (issue 8 item 2).
  it('given backdate_start_date in classic mode, then the first period starts at the backdate so the cycle invoice bills earlier usage', () => {
    const s = stateOf(created({ backdate_start_date: u('2025-01-15T00:00:00Z'), billing_mode: 'classic' }));
    expect(s.start_date).toBe(u('2025-01-15T00:00:00Z'));
    expect(s.items[0]!.current_period_start).toBe(u('2025-01-15T00:00:00Z'));
    expect(s.period.end).toBe(u('2025-02-28T09:00:00Z'));
  });
  it('given backdate_start_date in flexible mode, then the backdated usage is its own subscription_create invoice and the period starts at creation', () => {
    const back = u('2025-01-15T00:00:00Z');
    const usage = { ...line(3000), period: { start: back, end: NOW } };
    const s = stateOf(created({ backdate_start_date: back, backdated_lines: [usage] }));
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
    expect(stateOf(created({ backdate_start_date: NOW - 86400, backdated_lines: [none] })).pending_invoices).toEqual([]);
  });
  it('given a flexible backdate and proration_behavior=none, then the backdated usage is not billed (reference §4 backdate_start_date)', () => {
    const s = stateOf(created({ backdate_start_date: NOW - 86400, backdated_lines: [line(3000)], proration_behavior: 'none' }));
    expect(s.pending_invoices).toEqual([]);
    expect(s.period.start).toBe(NOW);
  });
});

// Issue 8 item 1 / reference §4 (billing_mode): classic issues a subscription_create invoice with
// a 0-amount line per metered item for [start, first period end); flexible issues no empty invoice.
describe('the creation invoice', () => {
  it('given classic mode and only metered items, then a subscription_create invoice with one 0-amount line per item', () => {
    const s = stateOf(
      created({
        billing_mode: 'classic',
        items: [
          { id: 'si_1', price: meteredPrice('price_a') },
          { id: 'si_2', price: meteredPrice('price_b') },
        ],
        product_names: { prod_1: 'Car rental' },
      }),
    );
    expect(s.pending_invoices).toHaveLength(1);
    const inv = s.pending_invoices[0]!;
    expect(inv).toMatchObject({ billing_reason: 'subscription_create', created: NOW, period_start: NOW, period_end: s.period.end });
    expect(inv.lines.map((l) => [l.subscription_item, l.amount, l.quantity, l.period])).toEqual([
      ['si_1', 0, 0, { start: NOW, end: s.period.end }],
      ['si_2', 0, 0, { start: NOW, end: s.period.end }],
    ]);
  });
  it('given flexible mode and only metered items, then no creation invoice', () => {
    expect(stateOf(created({ billing_mode: 'flexible' })).pending_invoices).toEqual([]);
  });
  it('when invoicing acknowledges the creation invoice, then it is the latest_invoice', () => {
    const evs = created({ billing_mode: 'classic' });
    const key = stateOf(evs).pending_invoices[0]!.idempotency_key;
    given(evs)
      .when({ type: 'AcknowledgeInvoice', idempotency_key: key, invoice: 'in_c' })
      .then((_, state) => expect(state).toMatchObject({ latest_invoice: 'in_c', pending_invoices: [] }));
  });
});

describe('period close', () => {
  const closing = (s: SubscriptionState) => dueClosing(s, s.period.end)!;
  it('given the period end is reached, when closed with rated lines, then an invoice is requested and the items roll from the anchor', () => {
    const c = closing(stateOf(created()));
    expect(c).toEqual({ period_start: NOW, period_end: u('2025-02-28T09:00:00Z'), ending: false });
    given(created())
      .when({ type: 'ClosePeriod', closing: c, lines: [line(3000)] })
      .then((events, state) => {
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
  });
  it('is idempotent: closing the same period twice records nothing the second time', () => {
    const c = closing(stateOf(created()));
    const first = decided(created(), { type: 'ClosePeriod', closing: c, lines: [] });
    given([...created(), ...first])
      .when({ type: 'ClosePeriod', closing: c, lines: [] })
      .then([]);
  });
  it('before the period end nothing is due', () => {
    const s = stateOf(created());
    expect(dueClosing(s, s.period.end - 1)).toBeNull();
    expect(nextDue(s)).toBe(s.period.end);
  });
  it('when invoicing acknowledges, then latest_invoice is set and nothing is pending', () => {
    const closed = [...created(), ...decided(created(), { type: 'ClosePeriod', closing: closing(stateOf(created())), lines: [] })];
    const key = stateOf(closed).pending_invoices[0]!.idempotency_key;
    const ack: SubscriptionCommand = { type: 'AcknowledgeInvoice', idempotency_key: key, invoice: 'in_1' };
    given(closed)
      .when(ack)
      .then((_, state) => {
        expect(state!.latest_invoice).toBe('in_1');
        expect(state!.pending_invoices).toEqual([]);
      });
    // a repeated acknowledgement is a no-op
    given([...closed, ...decided(closed, ack)])
      .when(ack)
      .then([]);
  });
  it('when invoicing accepted the invoice before the close was recorded, then one event, nothing pending', () => {
    const s = stateOf(created());
    given(created())
      .when({ type: 'ClosePeriod', closing: dueClosing(s, s.period.end)!, lines: [], accepted_invoice: 'in_9' })
      .then((events, state) => {
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ type: 'SubscriptionPeriodClosed', data: { invoice_id: 'in_9' } });
        expect(state).toMatchObject({ latest_invoice: 'in_9', pending_invoices: [] });
      });
  });
  it('metered windows run from each item start to the close', () => {
    const s = stateOf(created());
    expect(meteredWindows(s, s.period.end).map((w) => [w.item.id, w.start, w.end])).toEqual([['si_1', NOW, s.period.end]]);
  });
  it('licensed items have no usage window', () => {
    const s = stateOf(created({ items: [{ id: 'si_1', price: licensedPrice('price_l') }] }));
    expect(s.items[0]!.quantity).toBe(1);
    expect(meteredWindows(s, s.period.end)).toEqual([]);
  });
});

describe('cancellation', () => {
  it('given cancel_at_period_end, when the period closes, then a final invoice and the subscription ends', () => {
    const upd = [...created(), ...decided(created(), { type: 'UpdateSubscription', now: NOW + 10, cancel_at_period_end: true })];
    const s = stateOf(upd);
    expect(s).toMatchObject({ cancel_at_period_end: true, cancel_at: stateOf(created()).period.end, canceled_at: NOW + 10 });
    const c = dueClosing(s, s.period.end)!;
    expect(c.ending).toBe(true);
    given(upd)
      .when({ type: 'ClosePeriod', closing: c, lines: [line(100)] })
      .then((events, closed) => {
        expect(events[0]!.type).toBe('SubscriptionCanceled');
        expect(closed).toMatchObject({ status: 'canceled', ended_at: s.period.end });
        expect(closed!.pending_invoices[0]!.lines[0]!.amount).toBe(100);
        expect(nextDue(closed!)).toBeNull();
      });
  });
  it('given cancel_at_period_end then reactivated, the period rolls normally', () => {
    const a = [...created(), ...decided(created(), { type: 'UpdateSubscription', now: NOW + 10, cancel_at_period_end: true })];
    given(a)
      .when({ type: 'UpdateSubscription', now: NOW + 20, cancel_at_period_end: false })
      .then((_, b) => {
        expect(b).toMatchObject({ cancel_at: null, cancel_at_period_end: false, canceled_at: null });
        expect(dueClosing(b!, b!.period.end)!.ending).toBe(false);
      });
  });
  it('given cancel_at mid-period, then due at cancel_at, usage window ends there', () => {
    const at = NOW + 5 * 86400;
    given(created())
      .when({ type: 'UpdateSubscription', now: NOW + 1, cancel_at: at })
      .then((_, s) => {
        expect(nextDue(s!)).toBe(at);
        expect(dueClosing(s!, at)).toEqual({ period_start: NOW, period_end: at, ending: true });
      });
  });
  it('when canceled now with invoice_now, then a final invoice for usage so far', () => {
    given(created())
      .when({ type: 'Cancel', now: NOW + 100, invoice_now: true, prorate: false, lines: [line(700)] })
      .then((events, state) => {
        expect(events[0]).toMatchObject({
          type: 'SubscriptionCanceled',
          data: {
            ended_at: NOW + 100,
            invoice: { billing_reason: 'subscription_update', period_end: NOW + 100, lines: [{ amount: 700 }] },
          },
        });
        expect(state!.status).toBe('canceled');
      });
  });
  it('when canceled now without invoice_now, then no invoice (usage is not billed)', () => {
    given(created())
      .when({ type: 'Cancel', now: NOW + 100, invoice_now: false, prorate: false, lines: [line(700)] })
      .then((events) => expect(events[0]).toMatchObject({ data: { invoice: null } }));
  });
  it('a canceled subscription only takes metadata', () => {
    const after = [...created(), ...decided(created(), { type: 'Cancel', now: NOW + 1, invoice_now: false, prorate: false, lines: [] })];
    given(after)
      .when({ type: 'UpdateSubscription', now: NOW + 2, cancel_at_period_end: true })
      .then(/canceled/);
    given(after)
      .when({ type: 'UpdateSubscription', now: NOW + 2, metadata: { a: 'b' } })
      .then((_, s) => expect(s!.metadata).toEqual({ a: 'b' }));
    given(after)
      .when({ type: 'Cancel', now: NOW + 3, invoice_now: false, prorate: false, lines: [] })
      .then(/canceled/);
  });
});

describe('mid-cycle metered price change (issue 8 item 5; reference §4 "Mid-cycle metered price change / removal")', () => {
  const IDS = ['ii_1', 'ii_2', 'ii_3', 'ii_4'];
  const change = (mode: 'classic' | 'flexible', proration: 'create_prorations' | 'always_invoice' | 'none' = 'create_prorations') => {
    const evs = created({ billing_mode: mode });
    const changed = decided(evs, {
      type: 'UpdateItem',
      now: NOW + 86400,
      item: 'si_1',
      price: meteredPrice('price_b', { unit_amount: 2000 }),
      proration_behavior: proration,
      usage_lines: [line(1234)],
      invoice_item_ids: IDS,
    });
    return { evs: [...evs, ...changed], changed, state: stateOf([...evs, ...changed]) };
  };
  it('flexible: a pending invoice item bills the old price usage over [item period start, change), made pending now, carried by the next invoice', () => {
    const { evs, changed, state } = change('flexible');
    expect(state.items[0]).toMatchObject({ current_period_start: NOW + 86400, price: { id: 'price_b' } });
    expect(changed[0]).toMatchObject({
      type: 'SubscriptionItemUpdated',
      data: {
        invoice_items: [
          { id: 'ii_1', subscription_item: 'si_1', price: 'price_a', amount: 1234, period: { start: NOW }, proration: false },
        ],
        invoice: { pending_only: true, lines: [], invoice_items: [{ id: 'ii_1' }] },
      },
    });
    expect(state.pending_lines).toEqual([]);
    expect(state.pending_invoice_items!.map((i) => i.id)).toEqual(['ii_1']);
    given(evs)
      .when({ type: 'ClosePeriod', closing: dueClosing(state, state.period.end)!, lines: [line(50)] })
      .then((_, closed) => {
        const cycle = closed!.pending_invoices.find((i) => i.billing_reason === 'subscription_cycle')!;
        expect(cycle.lines.map((l) => l.amount)).toEqual([50]);
        expect(cycle.invoice_items!.map((i) => [i.id, i.amount])).toEqual([['ii_1', 1234]]);
        expect(closed!.pending_invoice_items).toEqual([]);
      });
  });
  it('when invoicing made the pending items (answering with the first item), latest_invoice stays as it was', () => {
    const { evs, state } = change('flexible');
    const key = state.pending_invoices[0]!.idempotency_key;
    given(evs)
      .when({ type: 'AcknowledgeInvoice', idempotency_key: key, invoice: 'ii_1' })
      .then((_, s) => {
        expect(s!.latest_invoice).toBeNull();
        expect(s!.pending_invoices).toEqual([]);
        expect(s!.pending_invoice_items!.map((i) => i.id)).toEqual(['ii_1']);
      });
  });
  it('flexible with proration_behavior=always_invoice: the pending items are invoiced at once (billing_reason=subscription_update)', () => {
    const { changed, state } = change('flexible', 'always_invoice');
    expect(changed[0]).toMatchObject({
      data: { invoice: { billing_reason: 'subscription_update', lines: [], invoice_items: [{ id: 'ii_1', amount: 1234 }] } },
    });
    expect((changed[0]!.data as { invoice: { pending_only?: boolean } }).invoice.pending_only).toBeUndefined();
    expect(state.pending_invoice_items).toEqual([]);
  });
  it('flexible with proration_behavior=none: the old usage is dropped, nothing is made', () => {
    const { changed, state } = change('flexible', 'none');
    expect(changed[0]!.data).not.toHaveProperty('invoice');
    expect(state.pending_invoice_items ?? []).toEqual([]);
    expect(state.pending_invoices).toEqual([]);
  });
  it('classic: usage before the change is not billed', () => {
    const { state } = change('classic');
    expect(state.pending_lines).toEqual([]);
    expect(state.pending_invoice_items ?? []).toEqual([]);
    expect(meteredWindows(state, state.period.end)[0]!.start).toBe(NOW + 86400);
  });
  it('refuses usage rated on a window the subscription no longer has (a period close committed after the read): retried by the caller', () => {
    const evs = created();
    const s = stateOf(evs);
    const closed = decided(evs, { type: 'ClosePeriod', closing: dueClosing(s, s.period.end)!, lines: [line(5)] });
    given([...evs, ...closed])
      .when({
        type: 'UpdateItem',
        now: s.period.end + 60,
        item: 'si_1',
        price: meteredPrice('price_b'),
        proration_behavior: 'create_prorations',
        usage_lines: [line(1234)], // rated from NOW: the period the close already billed
        invoice_item_ids: IDS,
      })
      .then(/changed while its usage was being rated/);
  });
  it('deleting a metered item in flexible mode bills its usage so far as an invoice item; the last item cannot be deleted', () => {
    const evs = created({
      items: [
        { id: 'si_1', price: meteredPrice('price_a') },
        { id: 'si_2', price: meteredPrice('price_b') },
      ],
    });
    const del: SubscriptionCommand = {
      type: 'DeleteItem',
      now: NOW + 5,
      item: 'si_2',
      proration_behavior: 'create_prorations',
      usage_lines: [line(9, 'si_2', 'price_b')],
      invoice_item_ids: IDS,
    };
    given(evs)
      .when(del)
      .then((_, s) => {
        expect(s!.items.map((i) => i.id)).toEqual(['si_1']);
        expect(s!.pending_invoice_items).toMatchObject([{ id: 'ii_1', subscription_item: 'si_2', price: 'price_b', amount: 9 }]);
      });
    given([...evs, ...decided(evs, del)])
      .when({ type: 'DeleteItem', now: NOW + 6, item: 'si_1', proration_behavior: 'none', usage_lines: [] })
      .then(/at least one/);
  });
  it('an item added mid-cycle bills usage from its addition to the common period end', () => {
    given(created())
      .when({ type: 'AddItem', now: NOW + 100, item: { id: 'si_2', price: meteredPrice('price_b') } })
      .then((_, s) => expect(s!.items[1]).toMatchObject({ current_period_start: NOW + 100, current_period_end: s!.period.end }));
  });
  it('migrating to flexible is one-way', () => {
    given(created({ billing_mode: 'classic' }))
      .when({ type: 'MigrateBillingMode', now: NOW + 1 })
      .then((_, s) => expect(s!.billing_mode).toEqual({ type: 'flexible', updated_at: NOW + 1 }));
  });
});

describe('licensed items (billed in advance)', () => {
  const lic = () => [{ id: 'si_l', price: licensedPrice('price_l') }];
  it('given a licensed item, then a subscription_create invoice for the first period', () => {
    const s = stateOf(created({ items: lic(), product_names: { prod_1: 'Seat' } }));
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
    const s = stateOf(created({ items: lic(), billing_cycle_anchor: anchor }));
    // [Jan 31 09:00, Feb 15 00:00) of the full period [Jan 15, Feb 15): 351 h of 744 h
    expect(s.pending_invoices[0]!.lines[0]!.amount).toBe(236);
    expect(s.pending_invoices[0]!.lines[0]!.description).toMatch(/^Remaining time/);
  });
  it('given a future anchor and proration_behavior=none, then the partial period is free', () => {
    const s = stateOf(created({ items: lic(), billing_cycle_anchor: u('2025-02-15T00:00:00Z'), proration_behavior: 'none' }));
    expect(s.pending_invoices).toEqual([]);
  });
  it('only metered items (flexible): no creation invoice', () => {
    expect(stateOf(created()).pending_invoices).toEqual([]);
  });
  it('at period end, the cycle invoice bills metered usage in arrears and licensed items for the next period', () => {
    const evs = created({ items: [{ id: 'si_1', price: meteredPrice('price_a') }, ...lic()] });
    const s = stateOf(evs);
    given(evs)
      .when({ type: 'ClosePeriod', closing: dueClosing(s, s.period.end)!, lines: [line(3000)] })
      .then((_, closed) => {
        const inv = closed!.pending_invoices.find((i) => i.billing_reason === 'subscription_cycle')!;
        expect(inv.lines.map((l) => [l.subscription_item, l.amount, l.period.start, l.period.end])).toEqual([
          ['si_1', 3000, NOW, NOW],
          ['si_l', 500, u('2025-02-28T09:00:00Z'), u('2025-03-31T09:00:00Z')],
        ]);
      });
  });
  it('a final (ending) close bills no licensed period in advance', () => {
    const evs = created({ items: lic(), cancel_at_period_end: true });
    const s = stateOf(evs);
    given(evs)
      .when({ type: 'ClosePeriod', closing: dueClosing(s, s.period.end)!, lines: [] })
      .then((_, closed) => expect(closed!.pending_invoices.find((i) => i.billing_reason === 'subscription_cycle')!.lines).toEqual([]));
  });
  it('a licensed item added mid-period is charged for the rest of the period on the next invoice', () => {
    const g = stateOf(created());
    const half = g.period.start + (g.period.end - g.period.start) / 2;
    given(created())
      .when({ type: 'AddItem', now: half, item: { id: 'si_l', price: licensedPrice('price_l') }, proration_behavior: 'create_prorations' })
      .then((_, s) => expect(s!.pending_lines.map((l) => l.amount)).toEqual([250]));
    given(created())
      .when({ type: 'AddItem', now: half, item: { id: 'si_l', price: licensedPrice('price_l') }, proration_behavior: 'none' })
      .then((_, s) => expect(s!.pending_lines).toEqual([]));
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
    given(evs)
      .when({ type: 'ResetBillingCycleAnchor', now: at, lines: [line(700)] })
      .then((_, s) => {
        expect(s!.billing_cycle_anchor).toBe(at);
        expect(s!.period).toEqual({ start: at, end: u('2025-03-10T09:00:00Z') });
        expect(s!.items.every((i) => i.current_period_start === at)).toBe(true);
        const inv = s!.pending_invoices.find((i) => i.billing_reason === 'subscription_update')!;
        expect(inv).toMatchObject({ period_start: NOW, period_end: at, created: at });
        expect(inv.lines.map((l) => [l.subscription_item, l.amount])).toEqual([
          ['si_1', 700],
          ['si_l', 500],
        ]);
        expect(nextDue(s!)).toBe(u('2025-03-10T09:00:00Z'));
      });
  });
});

describe('licensed items prorated (issue 8 item 7; reference §4 "billing_mode", "Proration / item removal", "Cancellation")', () => {
  // A licensed 5.00/month item from 2025-01-31 09:00; the period runs 28 days, to 2025-02-28 09:00.
  const day = (n: number) => NOW + n * 86400;
  const licensed = (mode: 'classic' | 'flexible') =>
    created({ billing_mode: mode, items: [{ id: 'si_l', price: licensedPrice('price_l'), quantity: 1 }] });
  const ids = (p: string) => [1, 2, 3, 4, 5, 6].map((i) => `ii_${p}${i}`);
  const qty = (
    now: number,
    quantity: number,
    proration: 'create_prorations' | 'always_invoice' | 'none',
    p: string,
    date?: number,
  ): SubscriptionCommand => ({
    type: 'UpdateItem',
    now,
    item: 'si_l',
    quantity,
    proration_behavior: proration,
    usage_lines: [],
    invoice_item_ids: ids(p),
    product_names: { prod_1: 'Seat' },
    ...(date !== undefined ? { proration_date: date } : {}),
  });
  const amounts = (evs: readonly SubscriptionAnyEvent[]) =>
    ((evs[0]!.data as { invoice_items?: { amount: number; credited_invoice_item: string | null }[] }).invoice_items ?? []).map((i) => [
      i.amount,
      i.credited_invoice_item,
    ]);

  it('a quantity change 1 -> 3 half-way: credit for unused time on 1, charge for remaining time on 3, pending for the next invoice', () => {
    const evs = licensed('classic');
    given(evs)
      .when(qty(day(14), 3, 'create_prorations', 'a'))
      .then((events, s) => {
        expect(events[0]).toMatchObject({
          data: {
            invoice_items: [
              { id: 'ii_a1', amount: -250, quantity: 1, proration: true, description: 'Unused time on 1 × Seat after 14 Feb 2025' },
              { id: 'ii_a2', amount: 750, quantity: 3, proration: true, description: 'Remaining time on 3 × Seat after 14 Feb 2025' },
            ],
            invoice: { pending_only: true },
          },
        });
        const items = s!.pending_invoice_items!;
        expect(items.every((i) => i.period.start === day(14) && i.period.end === s!.period.end)).toBe(true);
      });
  });
  it('classic recomputes the credit from the current price; flexible credits back what was debited (several changes)', () => {
    for (const [mode, credit] of [
      ['classic', [-250, null]],
      ['flexible', [-375, 'ii_b2']],
    ] as const) {
      let evs = licensed(mode);
      evs = [...evs, ...decided(evs, qty(day(14), 3, 'create_prorations', 'b'))];
      evs = [...evs, ...decided(evs, qty(day(14), 2, 'none', 'c'))];
      // day 21 of 28: 7 days left; classic: 2 x 500 x 1/4 = 250; flexible: the 750 charged from day 14, half of it
      expect(amounts(decided(evs, qty(day(21), 4, 'create_prorations', 'd')))).toEqual([credit, [500, null]]);
    }
  });
  it('proration_behavior=none makes nothing; always_invoice invoices the pending items at once (billing_reason=subscription_update)', () => {
    const evs = licensed('flexible');
    given(evs)
      .when(qty(day(14), 3, 'none', 'e'))
      .then((events, s) => {
        expect(events[0]!.data).not.toHaveProperty('invoice');
        expect(s!.pending_invoices).toEqual(evs.length ? stateOf(evs).pending_invoices : []);
      });
    const first = decided(evs, qty(day(7), 2, 'create_prorations', 'f'));
    given([...evs, ...first])
      .when(qty(day(14), 3, 'always_invoice', 'g'))
      .then((events, s) => {
        const inv = (events[0]!.data as { invoice: { billing_reason: string; pending_only?: boolean; invoice_items: { id: string }[] } })
          .invoice;
        expect(inv.billing_reason).toBe('subscription_update');
        expect(inv.pending_only).toBeUndefined();
        expect(inv.invoice_items.map((i) => i.id)).toEqual(['ii_f1', 'ii_f2', 'ii_g1', 'ii_g2']);
        expect(s!.pending_invoice_items).toEqual([]);
      });
  });
  it('proration_date fixes the time prorations are computed at, within the current period', () => {
    const evs = licensed('classic');
    expect(amounts(decided(evs, qty(day(20), 3, 'create_prorations', 'h', day(14))))).toEqual([
      [-250, null],
      [750, null],
    ]);
    given(evs)
      .when(qty(day(20), 3, 'create_prorations', 'i', day(40)))
      .then(/proration_date/);
  });
  it('a price change of a licensed item prorates both prices; deleting it credits the unused time', () => {
    const evs = licensed('classic');
    const dearer = createPrice({ currency: 'usd', product: 'prod_1', unit_amount: 900, recurring: { interval: 'month' } }, 'price_m', 1);
    given(evs)
      .when({ ...qty(day(21), 1, 'create_prorations', 'j'), price: dearer } as SubscriptionCommand)
      .then((events) =>
        expect(amounts(events)).toEqual([
          [-125, null],
          [225, null],
        ]),
      );
    const two = [...evs, ...decided(evs, { type: 'AddItem', now: day(0), item: { id: 'si_m', price: meteredPrice('price_a') } })];
    given(two)
      .when({
        type: 'DeleteItem',
        now: day(21),
        item: 'si_l',
        proration_behavior: 'create_prorations',
        usage_lines: [],
        invoice_item_ids: ids('k'),
      })
      .then((events) => expect(amounts(events)).toEqual([[-125, null]]));
  });
  it('cancel with prorate=true credits the unused time: on the final invoice with invoice_now, else as pending items', () => {
    const evs = licensed('classic');
    given(evs)
      .when({ type: 'Cancel', now: day(21), invoice_now: true, prorate: true, lines: [], invoice_item_ids: ids('l') })
      .then((events) =>
        expect(events[0]).toMatchObject({
          data: { invoice: { billing_reason: 'subscription_update', lines: [], invoice_items: [{ id: 'ii_l1', amount: -125 }] } },
        }),
      );
    given(evs)
      .when({ type: 'Cancel', now: day(21), invoice_now: false, prorate: true, lines: [], invoice_item_ids: ids('m') })
      .then((events) => expect(events[0]).toMatchObject({ data: { invoice: { pending_only: true, invoice_items: [{ amount: -125 }] } } }));
    given(evs)
      .when({ type: 'Cancel', now: day(21), invoice_now: false, prorate: false, lines: [] })
      .then((events) => expect(events[0]).toMatchObject({ data: { invoice: null } }));
  });
  it('a period close ends the standing debits: the next period credits from its own charge', () => {
    let evs = licensed('flexible');
    evs = [...evs, ...decided(evs, qty(day(14), 3, 'create_prorations', 'n'))];
    const s = stateOf(evs);
    expect(s.items[0]!.debits).toEqual([{ amount: 750, start: day(14), end: s.period.end, invoice_item: 'ii_n2' }]);
    const closed = [...evs, ...decided(evs, { type: 'ClosePeriod', closing: dueClosing(s, s.period.end)!, lines: [] })];
    expect(stateOf(closed).items[0]!.debits).toBeUndefined();
    expect(
      stateOf(closed)
        .pending_invoices.at(-1)!
        .invoice_items!.map((i) => i.id),
    ).toEqual(['ii_n1', 'ii_n2']);
  });
});
