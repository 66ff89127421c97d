import type Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { createPrice } from './price.js';
import { createSubscription } from './subscription.decider.js';
import { toStripeSubscription, toStripeSubscriptionItem } from './subscription.view.js';
import { toStripeTestClock, decide as decideClock, evolve as evolveClock } from './test-clock.decider.js';
import type { CustomerObject, ProductObject } from './catalog.events.js';

/** The SDK types decimals as its `Decimal` class; on the wire (what we print) they are strings. */
type Wire<T> = T extends Stripe.Decimal
  ? string
  : T extends (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

/** What we print must type-check as the official SDK's objects (checked by `pnpm typecheck`). */
describe('Stripe shapes', () => {
  const price = createPrice(
    { currency: 'usd', product: 'prod_1', unit_amount: 1000, recurring: { interval: 'month', usage_type: 'metered', meter: 'mtr_1' } },
    'price_1',
    1,
  );
  const sub = createSubscription({ id: 'sub_1', now: 100, customer: { id: 'cus_1', test_clock: null }, items: [{ id: 'si_1', price }] });

  it('subscription, item, price, test clock, customer and product', () => {
    const s: Wire<Stripe.Subscription> = toStripeSubscription(sub);
    const item: Wire<Stripe.SubscriptionItem> = toStripeSubscriptionItem(sub.items[0]!, sub.id);
    const p: Wire<Stripe.Price> = price;
    const clockState = decideClock({ type: 'CreateTestClock', id: 'clock_1', now: 1, frozen_time: 1, name: null }, null).reduce(
      evolveClock,
      null,
    )!;
    const clock: Wire<Stripe.TestHelpers.TestClock> = toStripeTestClock(clockState);
    const customer = (c: CustomerObject): Wire<Stripe.Customer> => c;
    const product = (x: ProductObject): Wire<Stripe.Product> => x;
    expect([s.object, item.object, p.object, clock.object, typeof customer, typeof product]).toEqual([
      'subscription',
      'subscription_item',
      'price',
      'test_helpers.test_clock',
      'function',
      'function',
    ]);
  });
});
