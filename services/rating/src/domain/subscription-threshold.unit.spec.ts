import type { RatedLine } from '@meterflow/contracts';
import { deciderSpec } from '@meterflow/testing';
import { describe, expect, it } from 'vitest';
import { createPrice, type PriceObject } from './price.js';
import { meteredLine } from './rated-line.js';
import { subscriptionDecider, type SubscriptionAnyEvent } from './subscription.aggregate.js';
import { createSubscription } from './subscription.decider.js';
import type { SubscriptionState } from './subscription.types.js';

// Issue 8 item 6; stripe-api.md §4 "Billing thresholds"; seed 001 (a threshold invoice already
// issued at the old price stands and is not offset).
const u = (iso: string): number => Date.parse(iso) / 1000;
const T0 = u('2026-01-01T00:00:00Z');
const JAN10 = u('2026-01-10T00:00:00Z');
const JAN16 = u('2026-01-16T00:00:00Z');
const FEB1 = u('2026-02-01T00:00:00Z');
const recurring = { interval: 'month' as const, usage_type: 'metered' as const, meter: 'mtr_car' };
const priceA = createPrice(
  { currency: 'usd', product: 'prod_car', unit_amount: 1000, recurring, transform_quantity: { divide_by: 60, round: 'up' } },
  'price_a',
  1,
);
const priceB = createPrice({ currency: 'usd', product: 'prod_car', unit_amount: 20, recurring }, 'price_b', 1);
const seat = createPrice({ currency: 'usd', product: 'prod_seat', unit_amount: 500, recurring: { interval: 'month' } }, 'price_seat', 1);

const created = (mode: 'classic' | 'flexible' = 'classic', withSeat = false): SubscriptionAnyEvent => ({
  type: 'SubscriptionCreated',
  data: {
    subscription: {
      ...createSubscription({
        id: 'sub_1',
        now: T0,
        customer: { id: 'cus_1', test_clock: 'clock_1' },
        items: [{ id: 'si_car', price: priceA }, ...(withSeat ? [{ id: 'si_seat', price: seat, quantity: 2 }] : [])],
        billing_mode: mode,
      }),
      pending_invoices: [],
    },
  },
});
const thresholds = (amount_gte: number, reset = false): SubscriptionAnyEvent => ({
  type: 'SubscriptionUpdated',
  data: { changes: { billing_thresholds: { amount_gte, reset_billing_cycle_anchor: reset } } },
});
const usage = (price: PriceObject, start: number, end: number, minutes: number): RatedLine =>
  meteredLine({ subscription_item: 'si_car', price, start, end }, String(minutes), 'Car rental');
const spec = deciderSpec(subscriptionDecider);
const fold = (events: SubscriptionAnyEvent[]) => events.reduce(subscriptionDecider.evolve, null as SubscriptionState | null)!;

describe('setting billing_thresholds (Stripe refusals)', () => {
  it('sets and clears them; shown on the subscription', () => {
    spec
      .given([created()])
      .when({ type: 'SetBillingThresholds', now: T0, billing_thresholds: { amount_gte: 2000, reset_billing_cycle_anchor: false } })
      .then([thresholds(2000)]);
    spec
      .given([created(), thresholds(2000)])
      .when({ type: 'SetBillingThresholds', now: T0, billing_thresholds: null })
      .then([{ type: 'SubscriptionUpdated', data: { changes: { billing_thresholds: null } } }]);
  });
  it('refuses amount_gte below 50 and at or under what the licensed items cost per period', () => {
    spec
      .given([created()])
      .when({ type: 'SetBillingThresholds', now: T0, billing_thresholds: { amount_gte: 49, reset_billing_cycle_anchor: false } })
      .then({ code: 'parameter_invalid', param: 'billing_thresholds[amount_gte]' });
    spec
      .given([created('classic', true)])
      .when({ type: 'SetBillingThresholds', now: T0, billing_thresholds: { amount_gte: 1000, reset_billing_cycle_anchor: false } })
      .then({ code: 'parameter_invalid', param: 'billing_thresholds[amount_gte]' });
  });
  it('refuses an item change that leaves the licensed items costing amount_gte or more per period (the same floor, kept)', () => {
    // 2 seats at 5.00 = 10.00 per period under a 15.00 threshold: a third seat (15.00) is refused, as is a pricier seat price.
    const given = [created('classic', true), thresholds(1500)];
    spec
      .given(given)
      .when({ type: 'UpdateItem', now: JAN10, item: 'si_seat', quantity: 3, proration_behavior: 'none', usage_lines: [] })
      .then({ code: 'parameter_invalid', param: 'billing_thresholds[amount_gte]' });
    spec
      .given(given)
      .when({ type: 'AddItem', now: JAN10, item: { id: 'si_more', price: { ...seat, id: 'price_seat2' }, quantity: 1 } })
      .then({ code: 'parameter_invalid', param: 'billing_thresholds[amount_gte]' });
    // Under the floor it goes through; without thresholds anything goes.
    const fewer = subscriptionDecider.decide(
      { type: 'UpdateItem', now: JAN10, item: 'si_seat', quantity: 1, proration_behavior: 'none', usage_lines: [] },
      fold(given),
    );
    expect(fewer.map((e) => e.type)).toEqual(['SubscriptionItemUpdated']);
    const free = subscriptionDecider.decide(
      { type: 'UpdateItem', now: JAN10, item: 'si_seat', quantity: 30, proration_behavior: 'none', usage_lines: [] },
      fold([created('classic', true)]),
    );
    expect(free.map((e) => e.type)).toEqual(['SubscriptionItemUpdated']);
  });
});

describe('the threshold invoice and the rest at the period end', () => {
  it('below the threshold nothing happens; at it a subscription_threshold invoice bills the usage so far', () => {
    spec
      .given([created(), thresholds(2000)])
      .when({ type: 'InvoiceThreshold', now: JAN10, lines: [usage(priceA, T0, JAN10, 60)] })
      .then([]);
    spec
      .given([created(), thresholds(2000)])
      .when({ type: 'InvoiceThreshold', now: JAN10, lines: [usage(priceA, T0, JAN10, 90)] })
      .then((events, after) => {
        expect(events).toHaveLength(1);
        const e = events[0]!;
        if (e.type !== 'SubscriptionThresholdInvoiced') throw new Error(e.type);
        expect(e.data.invoice).toMatchObject({
          billing_reason: 'subscription_threshold',
          period_start: T0,
          period_end: JAN10,
          created: JAN10,
        });
        expect(e.data.invoice.lines).toMatchObject([{ quantity: 90, amount: 2000 }]);
        expect(after!.period).toEqual({ start: T0, end: FEB1 }); // no reset: the period goes on
        expect(after!.pending_invoices).toHaveLength(1);
      });
  });

  it('the period end bills only the rest (150 minutes: 90 on the threshold invoice, 60 at the period end)', () => {
    const s = fold([created(), thresholds(2000)]);
    const [t] = subscriptionDecider.decide({ type: 'InvoiceThreshold', now: JAN10, lines: [usage(priceA, T0, JAN10, 90)] }, s);
    spec
      .given([created(), thresholds(2000), t!])
      .when({
        type: 'ClosePeriod',
        closing: { period_start: T0, period_end: FEB1, ending: false },
        lines: [usage(priceA, T0, FEB1, 150)],
      })
      .then((events) => {
        const close = events[0]!;
        if (close.type !== 'SubscriptionPeriodClosed') throw new Error(close.type);
        expect(close.data.invoice.lines).toMatchObject([{ quantity: 60, amount: 1000, period: { start: T0, end: FEB1 } }]);
      });
  });

  it('seed 001: after a classic price change the old-price threshold invoice stands and is not offset', () => {
    const s = fold([created(), thresholds(2000)]);
    const [t] = subscriptionDecider.decide({ type: 'InvoiceThreshold', now: JAN10, lines: [usage(priceA, T0, JAN10, 90)] }, s);
    const s2 = [t!].reduce(subscriptionDecider.evolve, s)!;
    const changed = subscriptionDecider.decide(
      { type: 'UpdateItem', now: JAN16, item: 'si_car', price: priceB, proration_behavior: 'create_prorations', usage_lines: [] },
      s2,
    );
    spec
      .given([created(), thresholds(2000), t!, ...changed])
      .when({
        type: 'ClosePeriod',
        closing: { period_start: T0, period_end: FEB1, ending: false },
        lines: [usage(priceB, JAN16, FEB1, 100)],
      })
      .then((events) => {
        const close = events[0]!;
        if (close.type !== 'SubscriptionPeriodClosed') throw new Error(close.type);
        expect(close.data.invoice.lines).toMatchObject([{ price: 'price_b', quantity: 100, amount: 2000 }]);
      });
  });

  it('a second threshold invoice bills only what accrued since the first', () => {
    const s = fold([created(), thresholds(2000)]);
    const [t] = subscriptionDecider.decide({ type: 'InvoiceThreshold', now: JAN10, lines: [usage(priceA, T0, JAN10, 90)] }, s);
    spec
      .given([created(), thresholds(2000), t!])
      .when({ type: 'InvoiceThreshold', now: JAN16, lines: [usage(priceA, T0, JAN16, 150)] })
      .then([]); // 10.00 more < 20.00
    spec
      .given([created(), thresholds(2000), t!])
      .when({ type: 'InvoiceThreshold', now: JAN16, lines: [usage(priceA, T0, JAN16, 200)] })
      .then((events) => {
        const e = events[0]!;
        if (e.type !== 'SubscriptionThresholdInvoiced') throw new Error(e.type);
        expect(e.data.invoice.lines).toMatchObject([{ quantity: 110, amount: 2000 }]);
        expect(e.data.invoice.idempotency_key).toBe(`sub_1:${T0}:subscription_threshold:${JAN16}`);
      });
  });

  it('reset_billing_cycle_anchor=true: the threshold invoice ends the period, the anchor moves to when it was reached', () => {
    spec
      .given([created('classic', true), thresholds(2000, true)])
      .when({ type: 'InvoiceThreshold', now: JAN10, lines: [usage(priceA, T0, JAN10, 120)], product_names: { prod_seat: 'Seat' } })
      .then((events, after) => {
        const e = events[0]!;
        if (e.type !== 'SubscriptionThresholdInvoiced') throw new Error(e.type);
        expect(e.data.reset).toEqual({ anchor: JAN10, period_end: u('2026-02-10T00:00:00Z') });
        // usage so far, and the seats in advance for the new period
        expect(e.data.invoice.lines.map((l) => [l.subscription_item, l.amount])).toEqual([
          ['si_car', 2000],
          ['si_seat', 1000],
        ]);
        expect(after).toMatchObject({ billing_cycle_anchor: JAN10, period: { start: JAN10, end: u('2026-02-10T00:00:00Z') } });
        expect(after!.items.every((i) => i.current_period_start === JAN10)).toBe(true);
        expect(after!.threshold_lines).toEqual([]);
      });
  });

  it('never at or after the period end (the period-end invoice bills it), nor without thresholds or when canceled', () => {
    spec
      .given([created(), thresholds(2000)])
      .when({ type: 'InvoiceThreshold', now: FEB1, lines: [usage(priceA, T0, FEB1, 900)] })
      .then([]);
    spec
      .given([created()])
      .when({ type: 'InvoiceThreshold', now: JAN10, lines: [usage(priceA, T0, JAN10, 900)] })
      .then([]);
  });

  it('usage of a window the subscription no longer has is ignored (rated before a price change)', () => {
    spec
      .given([created(), thresholds(2000)])
      .when({ type: 'InvoiceThreshold', now: JAN10, lines: [usage(priceB, T0, JAN10, 900)] })
      .then([]);
  });
});
