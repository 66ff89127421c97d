import { describe, expect, it } from 'vitest';
import { DomainError } from '@meterflow/kernel';
import {
  decideGrant,
  evolveGrant,
  foldGrant,
  initialGrantState,
  nextDueAt,
  type GrantCommand,
  type GrantState,
  type NewGrant,
  type Posting,
} from './credit-grant.decider.js';
import { CREDIT_LEDGER_EVENTS, eventContractViolation, type CreditGrantEvent } from '@meterflow/contracts';

let seq = 0;
const nextTxnId = () => `cbtxn_${String(++seq).padStart(4, '0')}`;

const grant = (over: Partial<NewGrant> = {}): NewGrant => ({
  id: 'credgr_1',
  customer: 'cus_1',
  testClock: null,
  currency: 'usd',
  amount: 1000n,
  category: 'paid',
  scope: { price_type: 'metered', prices: null },
  priority: 50,
  effectiveAt: 100,
  expiresAt: null,
  name: null,
  metadata: {},
  ...over,
});

/** given: past events; when: a command; then: the new events (and the folded state). */
function given(history: CreditGrantEvent[]) {
  // history round-trips through JSON like stored events do (bigint -> string)
  const stored = history.map((e) => JSON.parse(JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))));
  const state = foldGrant(stored);
  return {
    state,
    when(command: GrantCommand) {
      const events = decideGrant(command, state);
      return { events, state: events.reduce(evolveGrant, state), postings: postingsOf(events) };
    },
  };
}

const postingsOf = (events: CreditGrantEvent[]): Posting[] =>
  events.filter((e) => e.type === 'CreditBalanceTransactionRecorded').map((e) => e.data as Posting);

const create = (over: Partial<NewGrant> = {}, now = 100) =>
  decideGrant({ type: 'CreateGrant', grant: grant(over), now, nextTxnId }, initialGrantState());

describe('credit grant: creation and effectiveness', () => {
  it('given nothing, when created effective now, then credits_granted is posted at once', () => {
    const { events, state, postings } = given([]).when({ type: 'CreateGrant', grant: grant(), now: 100, nextTxnId });
    expect(events.map((e) => e.type)).toEqual(['CreditGrantCreated', 'CreditBalanceTransactionRecorded']);
    expect(postings[0]).toMatchObject({
      type: 'credit',
      reason: 'credits_granted',
      amount: 1000n,
      effective_at: 100,
      idempotency_key: 'granted',
    });
    expect(state.balance).toBe(1000n);
    expect(state.granted).toBe(true);
  });

  it('given nothing, when created effective in the future, then nothing is posted yet', () => {
    const { events, state } = given([]).when({ type: 'CreateGrant', grant: grant({ effectiveAt: 500 }), now: 100, nextTxnId });
    expect(events.map((e) => e.type)).toEqual(['CreditGrantCreated']);
    expect(state.balance).toBe(0n);
    expect(nextDueAt(state, 100)).toBe(500);
  });

  it('refuses expires_at not after effective_at, and non-positive amounts', () => {
    expect(() => create({ expiresAt: 100 })).toThrow(DomainError);
    expect(() => create({ amount: 0n })).toThrow(/positive/);
    expect(() => create({ effectiveAt: 50, expiresAt: 90 }, 100)).toThrow(/future/);
  });

  it('given a future grant, when ticked before it is effective, then nothing; at effective_at, then granted', () => {
    const g = given(create({ effectiveAt: 500 }));
    expect(g.when({ type: 'Tick', at: 499, nextTxnId }).events).toEqual([]);
    const { postings } = g.when({ type: 'Tick', at: 500, nextTxnId });
    expect(postings.map((p) => [p.reason, p.amount, p.created])).toEqual([['credits_granted', 1000n, 500]]);
  });

  it('is idempotent: a second tick at the same time posts nothing', () => {
    const first = create({ effectiveAt: 500 });
    const after = given(first).when({ type: 'Tick', at: 500, nextTxnId });
    expect(given([...first, ...after.events]).when({ type: 'Tick', at: 500, nextTxnId }).events).toEqual([]);
  });
});

describe('credit grant: applying', () => {
  it('given 1000 granted, when 300 applied, then a credits_applied debit with invoice and line', () => {
    const { postings, state } = given(create()).when({
      type: 'ApplyCredits',
      invoice: 'in_1',
      line: 'il_1',
      amount: 300n,
      at: 200,
      txnId: 'cbtxn_a',
    });
    expect(postings).toEqual([
      expect.objectContaining({
        id: 'cbtxn_a',
        type: 'debit',
        reason: 'credits_applied',
        amount: 300n,
        invoice: 'in_1',
        invoice_line_item: 'il_1',
      }),
    ]);
    expect(state.balance).toBe(700n);
  });

  it('applying the same invoice line twice has no second effect', () => {
    const h = create();
    const once = given(h).when({ type: 'ApplyCredits', invoice: 'in_1', line: 'il_1', amount: 300n, at: 200, txnId: 'cbtxn_a' });
    const twice = given([...h, ...once.events]).when({
      type: 'ApplyCredits',
      invoice: 'in_1',
      line: 'il_1',
      amount: 300n,
      at: 200,
      txnId: 'cbtxn_b',
    });
    expect(twice.events).toEqual([]);
  });

  it('never applies more than the balance, nor before effective, nor after expiry', () => {
    expect(() => given(create()).when({ type: 'ApplyCredits', invoice: 'in_1', line: 'il_1', amount: 1001n, at: 200, txnId: 'x' })).toThrow(
      /has 1000/,
    );
    expect(() =>
      given(create({ effectiveAt: 500 })).when({ type: 'ApplyCredits', invoice: 'in_1', line: 'il_1', amount: 1n, at: 200, txnId: 'x' }),
    ).toThrow(/cannot be applied/);
    expect(() =>
      given(create({ expiresAt: 150 })).when({ type: 'ApplyCredits', invoice: 'in_1', line: 'il_1', amount: 1n, at: 150, txnId: 'x' }),
    ).toThrow(/cannot be applied/);
  });
});

describe('credit grant: expiry', () => {
  it('given 700 left, when the clock passes expires_at, then credits_expired for the remainder', () => {
    const h = create({ expiresAt: 1000 });
    const applied = given(h).when({ type: 'ApplyCredits', invoice: 'in_1', line: 'il_1', amount: 300n, at: 200, txnId: 'a' });
    const { events, postings, state } = given([...h, ...applied.events]).when({ type: 'Tick', at: 1500, nextTxnId });
    expect(events.map((e) => e.type)).toEqual(['CreditGrantExpired', 'CreditBalanceTransactionRecorded']);
    expect(postings[0]).toMatchObject({ type: 'debit', reason: 'credits_expired', amount: 700n, effective_at: 1000, created: 1500 });
    expect(state.balance).toBe(0n);
    expect(nextDueAt(state, 0)).toBeNull();
  });

  it('given a fully used grant, when it expires, then no zero posting (but it is marked expired)', () => {
    const h = create({ expiresAt: 1000 });
    const applied = given(h).when({ type: 'ApplyCredits', invoice: 'in_1', line: 'il_1', amount: 1000n, at: 200, txnId: 'a' });
    const { events, state } = given([...h, ...applied.events]).when({ type: 'Tick', at: 1000, nextTxnId });
    expect(events.map((e) => e.type)).toEqual(['CreditGrantExpired']);
    expect(state.expiredAt).toBe(1000);
  });

  it('given a grant effective and expiring before the tick, then granted then expired, in order', () => {
    const { postings } = given(create({ effectiveAt: 500, expiresAt: 800 })).when({ type: 'Tick', at: 900, nextTxnId });
    expect(postings.map((p) => [p.reason, p.amount])).toEqual([
      ['credits_granted', 1000n],
      ['credits_expired', 1000n],
    ]);
  });

  it('next due: effective_at first, then expires_at, strictly after the bound', () => {
    const s = foldGrant(create({ effectiveAt: 500, expiresAt: 800 }));
    expect(nextDueAt(s, 100)).toBe(500);
    expect(nextDueAt(s, 500)).toBe(800);
    expect(nextDueAt(s, 800)).toBeNull();
  });

  it('the expire endpoint sets expires_at to now and removes the remainder; twice is an error', () => {
    const { events, postings, state } = given(create()).when({ type: 'ExpireGrant', at: 300, nextTxnId });
    expect(events[0]).toMatchObject({ type: 'CreditGrantExpired', data: { expires_at: 300 } });
    expect(postings[0]).toMatchObject({ reason: 'credits_expired', amount: 1000n });
    expect(state.expiresAt).toBe(300);
    expect(() => decideGrant({ type: 'ExpireGrant', at: 301, nextTxnId }, state)).toThrow(/already expired/);
  });

  it('an expired grant that never became effective is never granted later', () => {
    const h = create({ effectiveAt: 500 });
    const exp = given(h).when({ type: 'ExpireGrant', at: 200, nextTxnId });
    expect(exp.postings).toEqual([]);
    expect(given([...h, ...exp.events]).when({ type: 'Tick', at: 600, nextTxnId }).events).toEqual([]);
  });
});

describe('credit grant: voiding', () => {
  it('given 1000 left, when voided, then voided_at and a credits_voided debit; twice is an error', () => {
    const { postings, state } = given(create()).when({ type: 'VoidGrant', at: 300, nextTxnId });
    expect(postings[0]).toMatchObject({ type: 'debit', reason: 'credits_voided', amount: 1000n });
    expect(state.voidedAt).toBe(300);
    expect(state.balance).toBe(0n);
    expect(() => decideGrant({ type: 'VoidGrant', at: 301, nextTxnId }, state)).toThrow(/voided/);
    expect(() => decideGrant({ type: 'UpdateGrant', now: 301, metadata: { a: 'b' } }, state)).toThrow(/voided/);
  });

  it('a voided future grant is never granted', () => {
    const h = create({ effectiveAt: 500 });
    const v = given(h).when({ type: 'VoidGrant', at: 200, nextTxnId });
    expect(v.postings).toEqual([]);
    expect(given([...h, ...v.events]).when({ type: 'Tick', at: 600, nextTxnId }).events).toEqual([]);
  });
});

describe('credit grant: reinstatement when the invoice is voided', () => {
  const applyAll = (h: CreditGrantEvent[]) => [
    ...h,
    ...given(h).when({ type: 'ApplyCredits', invoice: 'in_1', line: 'il_1', amount: 400n, at: 200, txnId: 'a' }).events,
  ];

  it('given 400 applied, when the invoice is voided, then a credits_application_invoice_voided credit of 400', () => {
    const { postings, state } = given(applyAll(create())).when({
      type: 'ReinstateApplication',
      invoice: 'in_1',
      line: 'il_1',
      at: 300,
      nextTxnId,
    });
    expect(postings).toEqual([
      expect.objectContaining({
        type: 'credit',
        reason: 'credits_application_invoice_voided',
        amount: 400n,
        invoice: 'in_1',
        invoice_line_item: 'il_1',
      }),
    ]);
    expect(state.balance).toBe(1000n);
  });

  it('reinstating twice, or a line never applied, has no effect', () => {
    const h = applyAll(create());
    const once = given(h).when({ type: 'ReinstateApplication', invoice: 'in_1', line: 'il_1', at: 300, nextTxnId });
    expect(
      given([...h, ...once.events]).when({ type: 'ReinstateApplication', invoice: 'in_1', line: 'il_1', at: 301, nextTxnId }).events,
    ).toEqual([]);
    expect(given(h).when({ type: 'ReinstateApplication', invoice: 'in_2', line: 'il_1', at: 300, nextTxnId }).events).toEqual([]);
  });

  it('given the grant already expired, when reinstated, then the credits expire immediately', () => {
    const h = applyAll(create({ expiresAt: 250 }));
    const expired = given(h).when({ type: 'Tick', at: 260, nextTxnId });
    expect(expired.postings.map((p) => [p.reason, p.amount])).toEqual([['credits_expired', 600n]]);
    const { postings, state } = given([...h, ...expired.events]).when({
      type: 'ReinstateApplication',
      invoice: 'in_1',
      line: 'il_1',
      at: 300,
      nextTxnId,
    });
    expect(postings.map((p) => [p.type, p.reason, p.amount])).toEqual([
      ['credit', 'credits_application_invoice_voided', 400n],
      ['debit', 'credits_expired', 400n],
    ]);
    expect(state.balance).toBe(0n);
  });

  it('given the grant was voided, when reinstated, then the credits are voided again at once', () => {
    const h = applyAll(create());
    const voided = given(h).when({ type: 'VoidGrant', at: 250, nextTxnId });
    const { postings, state } = given([...h, ...voided.events]).when({
      type: 'ReinstateApplication',
      invoice: 'in_1',
      line: 'il_1',
      at: 300,
      nextTxnId,
    });
    expect(postings.map((p) => p.reason)).toEqual(['credits_application_invoice_voided', 'credits_voided']);
    expect(state.balance).toBe(0n);
  });
});

describe('credit grant: update', () => {
  it('changes only expires_at and metadata; "" removes a key; null expiry = never', () => {
    const h = create({ metadata: { a: '1', b: '2' }, expiresAt: 5000 });
    const { state } = given(h).when({ type: 'UpdateGrant', now: 200, expiresAt: null, metadata: { a: '', c: '3' } });
    expect(state.expiresAt).toBeNull();
    expect(state.metadata).toEqual({ b: '2', c: '3' });
    expect(state.updated).toBe(200);
  });

  it('refuses an expires_at in the past, and changes on an expired grant', () => {
    const h = create();
    expect(() => given(h).when({ type: 'UpdateGrant', now: 200, expiresAt: 150 })).toThrow(/future/);
    const exp = given(h).when({ type: 'ExpireGrant', at: 300, nextTxnId });
    expect(() => given([...h, ...exp.events]).when({ type: 'UpdateGrant', now: 400, metadata: { a: 'b' } })).toThrow(/expired/);
  });

  it('a shortened expiry is what the next tick honours', () => {
    const h = create({ expiresAt: 5000 });
    const upd = given(h).when({ type: 'UpdateGrant', now: 200, expiresAt: 300 });
    const state: GrantState = upd.state;
    expect(nextDueAt(state, 200)).toBe(300);
  });
});

describe('evolve is total', () => {
  it('skips unknown and malformed events', () => {
    const s = initialGrantState();
    expect(evolveGrant(s, { type: 'Nope', data: {} })).toBe(s);
    expect(evolveGrant(s, { type: 'CreditGrantCreated', data: { id: 1 } })).toBe(s);
    expect(evolveGrant(s, { type: 'StripeEventEmitted', data: {} })).toBe(s);
  });
});

describe('the event contract (CREDIT_LEDGER_EVENTS)', () => {
  it("accepts everything the decider emits over a grant's life", () => {
    const h0 = create({ expiresAt: 5000, metadata: { a: '1' } });
    const steps: GrantCommand[] = [
      { type: 'ApplyCredits', invoice: 'in_1', line: 'il_1', amount: 400n, at: 200, txnId: 'cbtxn_a' },
      { type: 'UpdateGrant', now: 210, expiresAt: 4000, metadata: { a: '', b: '2' } },
      { type: 'UpdateGrant', now: 220, expiresAt: null },
      { type: 'ReinstateApplication', invoice: 'in_1', line: 'il_1', at: 300, nextTxnId },
      { type: 'ExpireGrant', at: 400, nextTxnId },
    ];
    const all = [...h0];
    for (const c of steps) all.push(...given(all).when(c).events);
    const voided = given(create({ id: 'credgr_2', effectiveAt: 500 })).when({ type: 'VoidGrant', at: 200, nextTxnId }).events;
    const events = [...all, ...create({ id: 'credgr_2', effectiveAt: 500 }), ...voided];
    expect(new Set(events.map((e) => e.type))).toEqual(
      new Set(['CreditGrantCreated', 'CreditBalanceTransactionRecorded', 'CreditGrantUpdated', 'CreditGrantExpired', 'CreditGrantVoided']),
    );
    for (const e of events) expect(eventContractViolation(CREDIT_LEDGER_EVENTS, e.type, e.data), e.type).toBeNull();
  });

  it('refuses a posting whose amount is not whole minor units', () => {
    const [posting] = postingsOf(given([]).when({ type: 'CreateGrant', grant: grant(), now: 100, nextTxnId }).events);
    expect(eventContractViolation(CREDIT_LEDGER_EVENTS, 'CreditBalanceTransactionRecorded', { ...posting, amount: '1.5' })).toMatch(
      /amount/,
    );
  });
});
