import { describe, expect, it } from 'vitest';
import { STRIPE_EVENT_ANNOUNCED, stripeEvent } from '@meterflow/contracts';
import { renderAnnouncements, toJson, type StoredEvent } from '@meterflow/event-store';
import { previousAttributes } from '../domain/catalog.events.js';
import { createPrice } from '../domain/price.js';
import type { SubscriptionUnitCommand } from '../domain/subscription.aggregate.js';
import { dueClosing } from '../domain/subscription.decider.js';
import type { SubscriptionState } from '../domain/subscription.types.js';
import { toStripeSubscription } from '../domain/subscription.view.js';
import { RatingAggregates } from './aggregates.js';
import { subscriptionEventRendering, subscriptionFacts } from './stripe-facts.js';
import type { TimeService } from './time.service.js';

const price = createPrice(
  { currency: 'usd', product: 'prod_1', unit_amount: 1000, recurring: { interval: 'month', usage_type: 'metered', meter: 'mtr_1' } },
  'price_1',
  1,
);
const create: SubscriptionUnitCommand = {
  type: 'CreateSubscription',
  input: { id: 'sub_1', now: 1_000, customer: { id: 'cus_1', test_clock: null }, items: [{ id: 'si_1', price }] },
};

const models = { customers: {}, products: {}, prices: {}, testClocks: {}, subscriptions: {} };
const subscription = new RatingAggregates(models as never, {} as TimeService).subscription;

/** The Stripe events as they were stored whole before announcements (the reference). */
function whole(before: SubscriptionState | null, after: SubscriptionState | null, ids: string[], created: number): unknown[] {
  if (!after) return [];
  const object = toStripeSubscription(after) as unknown as Record<string, unknown>;
  const opts = { requestId: 'req_1', idempotencyKey: 'key_1' };
  const evt = (type: string, prev?: Record<string, unknown>) =>
    stripeEvent(ids[0] ?? 'evt_missing', type, object, created, { ...opts, ...(prev ? { previousAttributes: prev } : {}) }).data;
  if (!before) return [evt('customer.subscription.created')];
  if (before.status !== 'canceled' && after.status === 'canceled') return [evt('customer.subscription.deleted')];
  const prev = previousAttributes(toStripeSubscription(before), object);
  return Object.keys(prev).length === 0 ? [] : [evt('customer.subscription.updated', prev)];
}

/** Run commands as the pipeline does (one announcement per command, after its events), storing them as jsonb would. */
function run(commands: ((s: SubscriptionState | null) => SubscriptionUnitCommand)[]) {
  const history: StoredEvent[] = [];
  const expected = new Map<number, unknown>();
  const store = (e: { type: string; data: unknown }) => {
    const stored = { type: e.type, data: JSON.parse(toJson(e.data)), streamPosition: history.length + 1 } as unknown as StoredEvent;
    history.push(stored);
    return stored;
  };
  let state: SubscriptionState | null = subscription.decider.initialState();
  for (const make of commands) {
    const command = make(state);
    const start = state;
    const since = history.length;
    const events = [subscription.decider.decide(command, start)].flat();
    for (const e of events) {
      state = subscription.decider.evolve(state, e);
      store(e);
    }
    if (events.length === 0) continue;
    const announced = subscription.announceChange!(
      { id: 'sub_1', command, events, before: start, after: state, since },
      { requestId: 'req_1', idempotencyKey: 'key_1' },
    );
    const ids = announced.map((a) => (a.data as { id: string }).id);
    // acknowledging an invoice alone is not announced
    const reference =
      command.type === 'AcknowledgeInvoice'
        ? []
        : whole(start, state, ids, (announced[0]?.data as { created: number } | undefined)?.created ?? 0);
    expect(announced).toHaveLength(reference.length);
    announced.forEach((a, i) => expected.set(store(a).streamPosition, JSON.parse(toJson(reference[i]))));
  }
  return { history, expected };
}

describe('Stripe events for subscription changes', () => {
  it('are stored as announcements and render at relay time exactly the events once stored whole (created, updated, deleted)', () => {
    const { history, expected } = run([
      () => create,
      () => ({ type: 'UpdateSubscription', now: 1_100, metadata: { a: 'b' } }),
      // two events, one change: previous_attributes from before the first
      () => ({
        type: 'Sequence',
        commands: [
          { type: 'UpdateSubscription', now: 1_200, metadata: { a: 'c' } },
          { type: 'UpdateSubscription', now: 1_200, description: 'two' },
        ],
      }),
      // a close whose invoice is acknowledged by a later command (not announced on its own) ...
      (s) => ({ type: 'ClosePeriod', closing: dueClosing(s!, s!.period.end)!, lines: [] }),
      (s) => ({ type: 'AcknowledgeInvoice', idempotency_key: s!.pending_invoices[0]!.idempotency_key, invoice: 'in_1' }),
      // ... then a close with its invoice (one change: previous_attributes against the state after the acknowledgement)
      (s) => ({
        type: 'Sequence',
        commands: [{ type: 'ClosePeriod', closing: dueClosing(s!, s!.period.end)!, lines: [], accepted_invoice: 'in_2' }],
      }),
      () => ({ type: 'UpdateSubscription', now: 9_000_000, metadata: { a: 'c' } }), // no change, no event
      (s) => ({ type: 'Cancel', now: s!.period.start + 10, invoice_now: false, prorate: false, lines: [] }),
    ]);
    const announced = history.filter((e) => e.type === STRIPE_EVENT_ANNOUNCED);
    expect(announced.map((e) => e.data.type)).toEqual([
      'customer.subscription.created',
      'customer.subscription.updated',
      'customer.subscription.updated',
      'customer.subscription.updated',
      'customer.subscription.updated',
      'customer.subscription.deleted',
    ]);
    for (const a of announced) expect(JSON.stringify(a.data).length).toBeLessThan(200);
    const rendered = renderAnnouncements(subscriptionEventRendering, history, announced).map((t) => JSON.parse(t));
    expect(rendered).toEqual(announced.map((a) => expected.get(a.streamPosition)));
    const both = rendered[2] as { data: { previous_attributes: Record<string, unknown> } };
    expect(both.data.previous_attributes).toEqual({ metadata: { a: 'b' }, description: null });
    // the close after the acknowledgement: previous_attributes from after the acknowledgement
    const close = rendered[4] as { data: { object: { latest_invoice: string }; previous_attributes: { latest_invoice?: string } } };
    expect(close.data.object.latest_invoice).toBe('in_2');
    expect(close.data.previous_attributes.latest_invoice).toBe('in_1');
    // any subset, any order (what one relay batch holds)
    const some = [announced[4]!, announced[2]!, announced[0]!];
    expect(renderAnnouncements(subscriptionEventRendering, history, some).map((t) => JSON.parse(t))).toEqual(
      some.map((a) => expected.get(a.streamPosition)),
    );
  });

  it('no change, no event', () => {
    const created = [subscription.decider.decide(create, null)].flat().reduce(subscription.decider.evolve, null);
    expect(subscriptionFacts(created, created, 5, 2)).toEqual([]);
  });
});
