import { describe, expect, it } from 'vitest';
import { deciderSpec } from '@meterflow/testing';
import { createPrice } from './price.js';
import { subscriptionDecider } from './subscription.aggregate.js';
import type { SubscriptionEvent } from './subscription.decider.js';

/*
 * A change lands on the period it is made in (reference §4): made after the period ended but
 * before its close ran, it waits for the close (subscription.close-pending.ts; found by
 * subscription.properties.unit.spec.ts: a flexible price change then billed [boundary, change) twice).
 */

const T0 = Date.UTC(2026, 0, 1) / 1000;
const FEB = Date.UTC(2026, 1, 1) / 1000;
const price = (id: string, meter: string) =>
  createPrice(
    { currency: 'usd', product: 'prod_1', unit_amount: 100, recurring: { interval: 'month', usage_type: 'metered', meter } },
    id,
    T0,
  );
const created = subscriptionDecider.decide(
  {
    type: 'CreateSubscription',
    input: { id: 'sub_1', now: T0, customer: { id: 'cus_1', test_clock: null }, items: [{ id: 'si_1', price: price('price_a', 'mtr_a') }] },
  },
  null,
) as SubscriptionEvent[];
const given = () => deciderSpec(subscriptionDecider).given(created);
const swap = (now: number) => ({
  type: 'UpdateItem' as const,
  now,
  item: 'si_1',
  price: price('price_b', 'mtr_b'),
  proration_behavior: 'create_prorations' as const,
  usage_lines: [],
});

describe('a change while the period close is due', () => {
  it('given the period ended at Feb 1 and is not closed, when a price change comes a second later, then 409 subscription_period_close_pending', () => {
    given()
      .when(swap(FEB + 1))
      .then({ code: 'subscription_period_close_pending' });
  });
  it('given the same, when an item is added, the subscription canceled, or cancel_at_period_end set, then refused too', () => {
    given()
      .when({ type: 'Cancel', now: FEB, invoice_now: true, prorate: false, lines: [] })
      .then({ code: 'subscription_period_close_pending' });
    given()
      .when({ type: 'UpdateSubscription', now: FEB + 5, cancel_at_period_end: true })
      .then({ code: 'subscription_period_close_pending' });
  });
  it('given the period not yet over, or a metadata-only update, then the change is decided', () => {
    given()
      .when(swap(FEB - 1))
      .then((ev) => expect(ev.map((e) => e.type)).toEqual(['SubscriptionItemUpdated']));
    given()
      .when({ type: 'UpdateSubscription', now: FEB + 5, metadata: { a: 'b' } })
      .then((ev) => expect(ev.map((e) => e.type)).toEqual(['SubscriptionUpdated']));
  });
});
