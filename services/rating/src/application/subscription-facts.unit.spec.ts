import { describe, expect, it } from 'vitest';
import { createPrice } from '../domain/price.js';
import { decide, dueClosing, evolve } from '../domain/subscription.decider.js';
import type { SubscriptionState } from '../domain/subscription.types.js';
import { subscriptionFacts } from './stripe-facts.js';

const price = createPrice(
  { currency: 'usd', product: 'prod_1', unit_amount: 1000, recurring: { interval: 'month', usage_type: 'metered', meter: 'mtr_1' } },
  'price_1',
  1,
);
const created = decide(
  {
    type: 'CreateSubscription',
    input: { id: 'sub_1', now: 1_000, customer: { id: 'cus_1', test_clock: null }, items: [{ id: 'si_1', price }] },
  },
  null,
).reduce<SubscriptionState | null>(evolve, null)!;

describe('Stripe events for subscription changes', () => {
  it('created, then updated with the previous item periods, then deleted', () => {
    expect(subscriptionFacts(null, created, 1_000).map((f) => f.type)).toEqual(['StripeEventEmitted']);
    expect((subscriptionFacts(null, created, 1_000)[0]!.data as any).type).toBe('customer.subscription.created');

    const closed = decide(
      { type: 'ClosePeriod', closing: dueClosing(created, created.period.end)!, lines: [], accepted_invoice: 'in_1' },
      created,
    ).reduce(evolve, created)!;
    const upd = subscriptionFacts(created, closed, created.period.end)[0]!.data as any;
    expect(upd.type).toBe('customer.subscription.updated');
    expect(upd.created).toBe(created.period.end);
    expect(upd.data.object.latest_invoice).toBe('in_1');
    expect(upd.data.previous_attributes.latest_invoice).toBeNull();
    expect(upd.data.previous_attributes.items.data[0].current_period_end).toBe(created.period.end);

    const canceled = decide({ type: 'Cancel', now: 2_000, invoice_now: false, prorate: false, lines: [] }, closed).reduce(evolve, closed)!;
    expect((subscriptionFacts(closed, canceled, 2_000)[0]!.data as any).type).toBe('customer.subscription.deleted');
  });
  it('no change, no event', () => {
    expect(subscriptionFacts(created, created, 5)).toEqual([]);
  });
});
