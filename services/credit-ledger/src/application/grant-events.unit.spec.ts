import { describe, expect, it } from 'vitest';
import { STRIPE_EVENT_ANNOUNCED, stripeEvent, type CreditGrantEvent } from '@meterflow/contracts';
import { renderAnnouncements, toJson, type StoredEvent } from '@meterflow/event-store';
import { grantDecider, type GrantCommand, type GrantState, type Posting } from '../domain/credit-grant.decider.js';
import { announceGrantEvent, grantEventRendering } from './credit-grant.aggregate.js';
import { renderGrantState, renderTransaction } from './credit-ledger.presenters.js';

let seq = 0;
const nextTxnId = () => `cbtxn_${String(++seq).padStart(4, '0')}`;

/** The Stripe event as it was stored whole before announcements (the reference). */
function whole(event: CreditGrantEvent, before: GrantState, after: GrantState, id: string, at: number): unknown {
  const opts = { requestId: 'req_1', idempotencyKey: null };
  switch (event.type) {
    case 'CreditGrantCreated':
      return stripeEvent(id, 'billing.credit_grant.created', { ...renderGrantState(after) }, at, opts).data;
    case 'CreditBalanceTransactionRecorded':
      return stripeEvent(id, 'billing.credit_balance_transaction.created', { ...renderTransaction(event.data as Posting) }, at, opts).data;
    default: {
      const prev = renderGrantState(before) as unknown as Record<string, unknown>;
      const next = renderGrantState(after) as unknown as Record<string, unknown>;
      const changed: Record<string, unknown> = {};
      for (const k of Object.keys(next)) if (JSON.stringify(prev[k]) !== JSON.stringify(next[k])) changed[k] = prev[k];
      return stripeEvent(id, 'billing.credit_grant.updated', next, at, { ...opts, previousAttributes: changed }).data;
    }
  }
}

/** Run commands as the pipeline does (announce after each decided event), storing them as jsonb would (JSON round trip). */
function run(commands: GrantCommand[]) {
  const history: StoredEvent[] = [];
  const expected = new Map<number, unknown>();
  const store = (e: { type: string; data: unknown }) => {
    const stored = { type: e.type, data: JSON.parse(toJson(e.data)), streamPosition: history.length + 1 } as unknown as StoredEvent;
    history.push(stored);
    return stored;
  };
  let state = grantDecider.initialState();
  for (const command of commands) {
    for (const event of grantDecider.decide(command, state)) {
      const before = state;
      state = grantDecider.evolve(state, event);
      store(event);
      for (const a of announceGrantEvent({ event }, { requestId: 'req_1' })) {
        const facts = a.data as { id: string; created: number };
        expected.set(store(a).streamPosition, JSON.parse(toJson(whole(event, before, state, facts.id, facts.created))));
      }
    }
  }
  return { history, expected };
}

describe('announced credit grant events', () => {
  it('render at relay time exactly the Stripe events once stored whole (grant created/updated, every posting)', () => {
    const { history, expected } = run([
      {
        type: 'CreateGrant',
        now: 100,
        nextTxnId,
        grant: {
          id: 'credgr_1',
          customer: 'cus_1',
          testClock: 'clock_1',
          currency: 'usd',
          amount: 1000n,
          category: 'paid',
          scope: { price_type: 'metered', prices: null },
          priority: 50,
          effectiveAt: 100,
          expiresAt: null,
          name: 'ten',
          metadata: {},
        },
      },
      { type: 'ApplyCredits', invoice: 'in_1', line: 'il_1', amount: 400n, at: 200, txnId: 'cbtxn_a' },
      { type: 'UpdateGrant', now: 250, metadata: { a: 'b' }, expiresAt: 10_000 },
      { type: 'ReinstateApplication', invoice: 'in_1', line: 'il_1', at: 300, nextTxnId },
      { type: 'VoidGrant', at: 400, nextTxnId },
    ]);
    const announced = history.filter((e) => e.type === STRIPE_EVENT_ANNOUNCED);
    expect(announced.map((e) => e.data.type)).toContain('billing.credit_balance_transaction.created');
    expect(announced.map((e) => e.data.type)).toContain('billing.credit_grant.updated');
    expect(announced[0]!.data.type).toBe('billing.credit_grant.created');
    for (const a of announced) expect(JSON.stringify(a.data).length).toBeLessThan(200);
    const rendered = renderAnnouncements(grantEventRendering, history, announced).map((t) => JSON.parse(t));
    expect(rendered).toEqual(announced.map((a) => expected.get(a.streamPosition)));
    const some = announced.slice(1, 4).reverse();
    expect(renderAnnouncements(grantEventRendering, history, some).map((t) => JSON.parse(t))).toEqual(
      some.map((a) => expected.get(a.streamPosition)),
    );
  });
});
