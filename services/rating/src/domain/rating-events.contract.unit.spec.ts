import { RATING_EVENTS, STRIPE_EVENT_ANNOUNCED, STRIPE_EVENT_EMITTED, eventContractViolation, type RatedLine } from '@meterflow/contracts';
import { describe, expect, it } from 'vitest';
import {
  previousAttributes,
  type CustomerEvent,
  type CustomerObject,
  type PriceEvent,
  type ProductEvent,
  type ProductObject,
} from './catalog.events.js';
import { createPrice, type PriceObject } from './price.js';
import { subscriptionDecider, type SubscriptionAnyCommand, type SubscriptionAnyEvent } from './subscription.aggregate.js';
import { dueClosing } from './subscription.decider.js';
import type { SubscriptionState } from './subscription.types.js';
import {
  decide as decideClock,
  evolve as evolveClock,
  type TestClockCommand,
  type TestClockEvent,
  type TestClockState,
} from './test-clock.decider.js';

/**
 * The event contracts (libs/contracts/src/events/rating.ts) accept what rating's deciders and
 * handlers really record, and refuse what breaks them. The store runs the same check on append.
 */
const u = (iso: string): number => Date.parse(iso) / 1000;
const NOW = u('2025-01-31T09:00:00Z');
const violation = (e: { type: string; data: unknown }) => eventContractViolation(RATING_EVENTS, e.type, e.data);

const metered = (id: string, extra: Partial<Parameters<typeof createPrice>[0]> = {}): PriceObject =>
  createPrice(
    {
      currency: 'usd',
      product: 'prod_1',
      unit_amount_decimal: '0.25',
      recurring: { interval: 'month', usage_type: 'metered', meter: 'mtr_1' },
      transform_quantity: { divide_by: 60, round: 'up' },
      ...extra,
    },
    id,
    NOW - 100,
  );
const licensed = (id: string): PriceObject =>
  createPrice({ currency: 'usd', product: 'prod_1', unit_amount: 500, recurring: { interval: 'month' } }, id, NOW - 100);
const tiered = createPrice(
  {
    currency: 'usd',
    product: 'prod_1',
    billing_scheme: 'tiered',
    tiers_mode: 'graduated',
    tiers: [
      { up_to: 100, unit_amount: 10, flat_amount: 500 },
      { up_to: 'inf', unit_amount_decimal: '2.5' },
    ],
    recurring: { interval: 'month', usage_type: 'metered', meter: 'mtr_2' },
  },
  'price_t',
  NOW - 100,
);
const oneTime = createPrice(
  { currency: 'usd', product: 'prod_1', unit_amount: 1200, lookup_key: 'setup', nickname: 'Setup' },
  'price_o',
  NOW,
);

const usageLine = (amount: number, item = 'si_1'): RatedLine => ({
  subscription_item: item,
  price: 'price_a',
  product: 'prod_1',
  meter: 'mtr_1',
  quantity: 3,
  amount,
  currency: 'usd',
  unit_amount_decimal: '0.25',
  description: '3 × Usage',
  period: { start: NOW, end: NOW + 86_400 },
});

/** A usage line of `item` over the window the subscription has for it at `now` (as the handlers rate it). */
function usageFor(s: SubscriptionState | null, item: string, amount: number, now: number): RatedLine {
  const it = s!.items.find((i) => i.id === item)!;
  const start = Math.min(it.current_period_start, now);
  return { ...usageLine(amount, item), price: it.price.id, period: { start, end: now } };
}
const IDS = (p: string) => [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `ii_${p}${i}`);

/** Run commands through the subscription aggregate's decider, collecting every event it records. */
function runSubscription(commands: ((s: SubscriptionState | null) => SubscriptionAnyCommand)[]): SubscriptionAnyEvent[] {
  const { decide, evolve } = subscriptionDecider;
  let state: SubscriptionState | null = null;
  const all: SubscriptionAnyEvent[] = [];
  for (const next of commands) {
    const events = decide(next(state), state);
    state = events.reduce(evolve, state);
    all.push(...events);
  }
  return all;
}

const subscriptionEvents = (): SubscriptionAnyEvent[] => [
  ...runSubscription([
    () => ({
      type: 'CreateSubscription',
      input: {
        id: 'sub_1',
        now: NOW,
        customer: { id: 'cus_1', test_clock: 'clock_1' },
        items: [
          { id: 'si_1', price: metered('price_a') },
          { id: 'si_2', price: licensed('price_l'), quantity: 2, metadata: { seat: 'yes' } },
        ],
        billing_mode: 'classic',
        billing_cycle_anchor_config: { day_of_month: 15, hour: 6 },
        description: 'team plan',
        metadata: { plan: 'team' },
        product_names: { prod_1: 'Usage' },
      },
    }),
    () => ({ type: 'UpdateSubscription', now: NOW + 10, metadata: { plan: 'pro' }, description: null }),
    () => ({
      type: 'UpdateSubscription',
      now: NOW + 20,
      cancel_at_period_end: true,
      cancellation_details: { comment: 'pricey', feedback: 'too_expensive' },
    }),
    () => ({ type: 'UpdateSubscription', now: NOW + 30, cancel_at: null }),
    () => ({ type: 'MigrateBillingMode', now: NOW + 40 }),
    () => ({ type: 'AddItem', now: NOW + 50, item: { id: 'si_3', price: licensed('price_m') }, product_names: { prod_1: 'Seats' } }),
    () => ({ type: 'AddItem', now: NOW + 55, item: { id: 'si_4', price: tiered } }),
    (s) => ({
      type: 'UpdateItem',
      now: NOW + 60,
      item: 'si_1',
      price: metered('price_b', { unit_amount: 2000, unit_amount_decimal: undefined }),
      proration_behavior: 'create_prorations',
      usage_lines: [usageFor(s, 'si_1', 75, NOW + 60)],
      invoice_item_ids: IDS('a'),
    }),
    () => ({ type: 'UpdateItem', now: NOW + 65, item: 'si_2', quantity: 5, metadata: {}, proration_behavior: 'none', usage_lines: [] }),
    // a licensed quantity change prorated (credit and charge invoice items), invoiced at once
    () => ({
      type: 'UpdateItem',
      now: NOW + 66,
      item: 'si_2',
      quantity: 6,
      proration_behavior: 'always_invoice',
      usage_lines: [],
      invoice_item_ids: IDS('b'),
      product_names: { prod_1: 'Seats' },
      proration_date: NOW + 64,
    }),
    (s) => ({
      type: 'DeleteItem',
      now: NOW + 70,
      item: 'si_4',
      proration_behavior: 'create_prorations',
      usage_lines: [usageFor(s, 'si_4', 7, NOW + 70)],
      invoice_item_ids: IDS('c'),
    }),
    // invoicing made the pending items: it answers with the first item's id
    (s) => {
      const only = s!.pending_invoices.find((p) => p.pending_only)!;
      return { type: 'AcknowledgeInvoice', idempotency_key: only.idempotency_key, invoice: only.invoice_items![0]!.id };
    },
    (s) => ({ type: 'ClosePeriod', closing: dueClosing(s!, s!.period.end)!, lines: [usageLine(3000)], product_names: { prod_1: 'Usage' } }),
    (s) => ({ type: 'AcknowledgeInvoice', idempotency_key: s!.pending_invoices[0]!.idempotency_key, invoice: 'in_1' }),
    (s) => ({ type: 'ClosePeriod', closing: dueClosing(s!, s!.period.end)!, lines: [], accepted_invoice: 'in_2' }),
    (s) => ({ type: 'ResetBillingCycleAnchor', now: s!.period.start + 3600, lines: [usageFor(s, 'si_1', 10, s!.period.start + 3600)] }),
    (s) => ({
      type: 'Cancel',
      now: s!.period.start + 7200,
      invoice_now: true,
      prorate: true,
      lines: [usageFor(s, 'si_1', 20, s!.period.start + 7200)],
      invoice_item_ids: IDS('d'),
    }),
  ]),
  // a cancellation without a final invoice, and one at the period end (cancel_at_period_end)
  ...runSubscription([
    () => ({
      type: 'CreateSubscription',
      input: { id: 'sub_2', now: NOW, customer: { id: 'cus_2', test_clock: null }, items: [{ id: 'si_9', price: metered('price_a') }] },
    }),
    () => ({ type: 'Cancel', now: NOW + 5, invoice_now: false, prorate: false, lines: [] }),
  ]),
  // prorate=true without invoice_now: the credits are made pending
  ...runSubscription([
    () => ({
      type: 'CreateSubscription',
      input: { id: 'sub_4', now: NOW, customer: { id: 'cus_4', test_clock: null }, items: [{ id: 'si_7', price: licensed('price_l') }] },
    }),
    () => ({ type: 'Cancel', now: NOW + 86_400, invoice_now: false, prorate: true, lines: [], invoice_item_ids: IDS('e') }),
  ]),
  ...runSubscription([
    () => ({
      type: 'CreateSubscription',
      input: {
        id: 'sub_3',
        now: NOW,
        customer: { id: 'cus_3', test_clock: null },
        items: [{ id: 'si_8', price: licensed('price_l') }],
        cancel_at_period_end: true,
      },
    }),
    (s) => ({ type: 'ClosePeriod', closing: dueClosing(s!, s!.period.end)!, lines: [] }),
  ]),
  // billing thresholds (issue 8 item 6): set, a threshold invoice, the rest at the period end, a reset
  ...runSubscription([
    () => ({
      type: 'CreateSubscription',
      input: { id: 'sub_4', now: NOW, customer: { id: 'cus_4', test_clock: null }, items: [{ id: 'si_1', price: metered('price_a') }] },
    }),
    () => ({ type: 'SetBillingThresholds', now: NOW, billing_thresholds: { amount_gte: 500, reset_billing_cycle_anchor: false } }),
    () => ({ type: 'InvoiceThreshold', now: NOW + 86_400, lines: [usageLine(600)] }),
    (s) => ({
      type: 'ClosePeriod',
      closing: dueClosing(s!, s!.period.end)!,
      lines: [{ ...usageLine(900), period: { start: NOW, end: s!.period.end } }],
    }),
    () => ({ type: 'SetBillingThresholds', now: NOW, billing_thresholds: { amount_gte: 500, reset_billing_cycle_anchor: true } }),
    (s) => ({
      type: 'InvoiceThreshold',
      now: s!.period.start + 60,
      lines: [{ ...usageLine(700), period: { start: s!.period.start, end: s!.period.start + 60 } }],
      accepted_invoice: 'in_9',
    }),
  ]),
];

const clockEvents = (): TestClockEvent[] => {
  let state: TestClockState | null = null;
  const all: TestClockEvent[] = [];
  const T0 = u('2025-01-01T00:00:00Z');
  const commands: TestClockCommand[] = [
    { type: 'CreateTestClock', id: 'clock_1', now: NOW, frozen_time: T0, name: 'Monthly' },
    { type: 'StartAdvance', frozen_time: T0 + 86_400, subscriptions: [{ interval: 'month', interval_count: 1 }] },
    { type: 'CompleteStep', to: T0 + 3600 },
    { type: 'FinishAdvance' },
    { type: 'StartAdvance', frozen_time: T0 + 2 * 86_400, subscriptions: [] },
    { type: 'FailAdvance', reason: 'invoicing timed out' },
    { type: 'DeleteTestClock' },
  ];
  for (const c of commands) {
    const events = decideClock(c, state);
    state = events.reduce(evolveClock, state);
    all.push(...events);
  }
  return all;
};

const customer: CustomerObject = {
  id: 'cus_1',
  object: 'customer',
  address: null,
  balance: 0,
  created: NOW,
  currency: null,
  default_source: null,
  delinquent: false,
  description: null,
  discount: null,
  email: 'a@example.com',
  invoice_prefix: 'ABCD1234',
  invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
  livemode: false,
  metadata: {},
  name: 'Ada',
  next_invoice_sequence: 1,
  phone: null,
  preferred_locales: [],
  shipping: null,
  tax_exempt: 'none',
  test_clock: 'clock_1',
};
const product: ProductObject = {
  id: 'prod_1',
  object: 'product',
  active: true,
  created: NOW,
  default_price: null,
  description: null,
  images: [],
  livemode: false,
  marketing_features: [],
  metadata: {},
  name: 'Usage',
  package_dimensions: null,
  shippable: null,
  statement_descriptor: null,
  tax_code: null,
  tax_details: null,
  type: 'service',
  unit_label: null,
  updated: NOW,
  url: null,
};

const catalogEvents = (): (CustomerEvent | ProductEvent | PriceEvent)[] => {
  const customer2: CustomerObject = {
    ...customer,
    balance: -500,
    address: { city: 'Paris', country: 'FR', line1: '1 rue', line2: null, postal_code: '75001', state: null },
    preferred_locales: ['fr'],
    shipping: { name: 'Ada', address: { city: 'Paris' } },
    tax_exempt: 'reverse',
  };
  const product2: ProductObject = { ...product, default_price: 'price_o', name: 'Usage v2', updated: NOW + 5 };
  const price2: PriceObject = { ...oneTime, active: false, lookup_key: null };
  return [
    { type: 'CustomerCreated', data: { customer } },
    { type: 'CustomerUpdated', data: { customer: customer2, previous_attributes: previousAttributes(customer, customer2) } },
    { type: 'CustomerDeleted', data: { id: 'cus_1' } },
    { type: 'ProductCreated', data: { product } },
    { type: 'ProductUpdated', data: { product: product2, previous_attributes: previousAttributes(product, product2) } },
    { type: 'PriceCreated', data: { price: metered('price_a') } },
    { type: 'PriceCreated', data: { price: tiered } },
    { type: 'PriceCreated', data: { price: oneTime } },
    { type: 'PriceUpdated', data: { price: price2, previous_attributes: previousAttributes(oneTime, price2) } },
  ];
};

describe("rating's event contracts", () => {
  it('accept every event the deciders record, and those cover every type in the catalogue', () => {
    const events = [...subscriptionEvents(), ...clockEvents(), ...catalogEvents()];
    for (const e of events) expect({ type: e.type, violation: violation(e) }).toEqual({ type: e.type, violation: null });
    const recorded = new Set<string>(events.map((e) => e.type));
    const catalogued = [...RATING_EVENTS.keys()].filter((t) => t !== STRIPE_EVENT_EMITTED && t !== STRIPE_EVENT_ANNOUNCED);
    expect(catalogued.filter((t) => !recorded.has(t))).toEqual([]);
    expect(catalogued).toHaveLength(24);
  });

  it('accept events after a JSON round trip (as read back from the store)', () => {
    for (const e of subscriptionEvents()) expect(violation(JSON.parse(JSON.stringify(e)))).toBeNull();
  });

  it('refuse an unknown type', () => {
    expect(violation({ type: 'SubscriptionPaused', data: {} })).toBe("unknown event type 'SubscriptionPaused'");
  });

  it('carry the invoice items a change makes, with their ii_ ids (issue 8 items 5 and 7)', () => {
    const items = subscriptionEvents().flatMap((e) =>
      ((e.data as { invoice_items?: { id: string }[] }).invoice_items ?? []).map((i) => i.id),
    );
    expect(items).toEqual(expect.arrayContaining(['ii_a1', 'ii_b1', 'ii_b2', 'ii_c1']));
    const changed = subscriptionEvents().find((e) => e.type === 'SubscriptionItemUpdated' && 'invoice' in e.data)!;
    const bad = JSON.parse(JSON.stringify(changed)) as { type: string; data: { invoice_items: { id: string }[] } };
    bad.data.invoice_items[0]!.id = 'in_1';
    expect(violation(bad)).toMatch(/^invoice_items\.0\.id: /);
  });

  it('refuse a fractional amount on a rated line', () => {
    const good = { type: 'SubscriptionItemDeleted', data: { item: 'si_1', pending_lines: [usageLine(12)] } };
    expect(violation(good)).toBeNull();
    const bad = { type: 'SubscriptionItemDeleted', data: { item: 'si_1', pending_lines: [usageLine(12.5)] } };
    expect(violation(bad)).toMatch(/^pending_lines\.0\.amount: /);
  });

  it('refuse a malformed document: wrong enum, missing field, unknown field, bad id, time as a string', () => {
    const created = subscriptionEvents().find((e) => e.type === 'SubscriptionCreated')!;
    const sub = (created.data as { subscription: SubscriptionState }).subscription;
    const withSub = (s: unknown) => ({ type: 'SubscriptionCreated', data: { subscription: s } });
    expect(violation(withSub({ ...sub, status: 'paused' }))).toMatch(/^subscription\.status: /);
    const { currency: _dropped, ...noCurrency } = sub;
    expect(violation(withSub(noCurrency))).toMatch(/^subscription\.currency: /);
    expect(violation(withSub({ ...sub, trial_end: null }))).toMatch(/trial_end/);
    expect(violation(withSub({ ...sub, customer: 'acct_1' }))).toMatch(/^subscription\.customer: /);
    expect(violation(withSub({ ...sub, created: String(sub.created) }))).toMatch(/^subscription\.created: /);
    expect(violation({ type: 'PriceCreated', data: { price: { ...oneTime, unit_amount: -1 } } })).toMatch(/^price\.unit_amount: /);
    expect(violation({ type: 'PriceCreated', data: { price: { ...oneTime, currency: 'USD' } } })).toMatch(/^price\.currency: /);
    expect(violation({ type: 'TestClockAdvanceStarted', data: { target: 1.5 } })).toMatch(/^target: /);
    expect(violation({ type: 'TestClockDeleted', data: { deleted: true } })).not.toBeNull();
  });
});
