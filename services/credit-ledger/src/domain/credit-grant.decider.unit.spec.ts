import { describe, expect, it } from 'vitest';
import { deciderSpec } from '@meterflow/testing';
import { CREDIT_LEDGER_EVENTS, eventContractViolation, type CreditGrantEvent } from '@meterflow/contracts';
import {
  foldGrant,
  grantDecider,
  initialGrantState,
  nextDueAt,
  type GrantCommand,
  type GrantState,
  type NewGrant,
  type Posting,
} from './credit-grant.decider.js';

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

/** History round-trips through JSON like stored events do (bigint -> string): the decider folds what the store gives back. */
const stored = (history: readonly CreditGrantEvent[]): CreditGrantEvent[] =>
  history.map((e) => JSON.parse(JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))) as CreditGrantEvent);

/** given: past events (as stored); when: a command; then: the new events, the folded state, or the refusal. */
const given = (history: readonly CreditGrantEvent[] = []) => deciderSpec(grantDecider).given(stored(history));

/** The events a command decides on a history (to build the next given). */
const step = (history: readonly CreditGrantEvent[], command: GrantCommand): CreditGrantEvent[] => [
  ...history,
  ...grantDecider.decide(command, foldGrant(stored(history))),
];

const postingsOf = (events: CreditGrantEvent[]): Posting[] =>
  events.filter((e) => e.type === 'CreditBalanceTransactionRecorded').map((e) => e.data as Posting);

const create = (over: Partial<NewGrant> = {}, now = 100) =>
  grantDecider.decide({ type: 'CreateGrant', grant: grant(over), now, nextTxnId }, initialGrantState());

const apply = (amount: bigint, at = 200, over: { invoice?: string; line?: string; txnId?: string } = {}): GrantCommand => ({
  type: 'ApplyCredits',
  invoice: over.invoice ?? 'in_1',
  line: over.line ?? 'il_1',
  amount,
  at,
  txnId: over.txnId ?? 'cbtxn_a',
});

describe('credit grant: creation and effectiveness', () => {
  it('given nothing, when created effective now, then credits_granted is posted at once', () => {
    given()
      .when({ type: 'CreateGrant', grant: grant(), now: 100, nextTxnId })
      .then((events, state) => {
        expect(events.map((e) => e.type)).toEqual(['CreditGrantCreated', 'CreditBalanceTransactionRecorded']);
        expect(postingsOf(events)[0]).toMatchObject({
          type: 'credit',
          reason: 'credits_granted',
          amount: 1000n,
          effective_at: 100,
          idempotency_key: 'granted',
        });
        expect(state.balance).toBe(1000n);
        expect(state.granted).toBe(true);
      });
  });

  it('given nothing, when created effective in the future, then nothing is posted yet', () => {
    given()
      .when({ type: 'CreateGrant', grant: grant({ effectiveAt: 500 }), now: 100, nextTxnId })
      .then((events, state) => {
        expect(events.map((e) => e.type)).toEqual(['CreditGrantCreated']);
        expect(state.balance).toBe(0n);
        expect(nextDueAt(state, 100)).toBe(500);
      });
  });

  it('refuses expires_at not after effective_at, and non-positive amounts', () => {
    given()
      .when({ type: 'CreateGrant', grant: grant({ expiresAt: 100 }), now: 100, nextTxnId })
      .then({ code: 'parameter_invalid', param: 'expires_at' });
    given()
      .when({ type: 'CreateGrant', grant: grant({ amount: 0n }), now: 100, nextTxnId })
      .then(/positive/);
    given()
      .when({ type: 'CreateGrant', grant: grant({ effectiveAt: 50, expiresAt: 90 }), now: 100, nextTxnId })
      .then(/future/);
  });

  it('given a grant, when created again with the same id, then nothing (a retried create has no second effect)', () => {
    given(create())
      .when({ type: 'CreateGrant', grant: grant({ amount: 5n }), now: 150, nextTxnId })
      .then([]);
  });

  it('given a future grant, when ticked before it is effective, then nothing; at effective_at, then granted', () => {
    const h = create({ effectiveAt: 500 });
    given(h).when({ type: 'Tick', at: 499, nextTxnId }).then([]);
    given(h)
      .when({ type: 'Tick', at: 500, nextTxnId })
      .then((events) => expect(postingsOf(events).map((p) => [p.reason, p.amount, p.created])).toEqual([['credits_granted', 1000n, 500]]));
  });

  it('is idempotent: a second tick at the same time posts nothing', () => {
    const first = create({ effectiveAt: 500 });
    given(step(first, { type: 'Tick', at: 500, nextTxnId }))
      .when({ type: 'Tick', at: 500, nextTxnId })
      .then([]);
  });

  it('given no grant, when ticked, then nothing', () => {
    given().when({ type: 'Tick', at: 500, nextTxnId }).then([]);
  });
});

describe('credit grant: applying', () => {
  it('given 1000 granted, when 300 applied, then a credits_applied debit with invoice and line', () => {
    given(create())
      .when(apply(300n))
      .then((events, state) => {
        expect(postingsOf(events)).toEqual([
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
  });

  it('applying the same invoice line twice has no second effect', () => {
    given(step(create(), apply(300n)))
      .when(apply(300n, 200, { txnId: 'cbtxn_b' }))
      .then([]);
  });

  it('never applies more than the balance, nor before effective, nor after expiry', () => {
    given(create())
      .when(apply(1001n, 200, { txnId: 'x' }))
      .then(/has 1000/);
    given(create())
      .when(apply(1001n, 200, { txnId: 'x' }))
      .then({ code: 'credit_grant_insufficient_balance' });
    given(create({ effectiveAt: 500 }))
      .when(apply(1n, 200, { txnId: 'x' }))
      .then(/cannot be applied/);
    given(create({ expiresAt: 150 }))
      .when(apply(1n, 150, { txnId: 'x' }))
      .then({ code: 'credit_grant_not_usable' });
  });

  it('never applies a zero amount, nor on a voided grant', () => {
    given(create()).when(apply(0n)).then({ code: 'credit_grant_insufficient_balance' });
    given(step(create(), { type: 'VoidGrant', at: 150, nextTxnId }))
      .when(apply(1n))
      .then({ code: 'credit_grant_not_usable' });
  });

  it('two lines of one invoice draw on the same balance, in order', () => {
    const h = step(create(), apply(600n));
    given(h)
      .when(apply(500n, 200, { line: 'il_2', txnId: 'cbtxn_b' }))
      .then({ code: 'credit_grant_insufficient_balance' });
    given(h)
      .when(apply(400n, 200, { line: 'il_2', txnId: 'cbtxn_b' }))
      .then((_events, state) => expect(state.balance).toBe(0n));
  });
});

describe('credit grant: expiry', () => {
  it('given 700 left, when the clock passes expires_at, then credits_expired for the remainder', () => {
    given(step(create({ expiresAt: 1000 }), apply(300n)))
      .when({ type: 'Tick', at: 1500, nextTxnId })
      .then((events, state) => {
        expect(events.map((e) => e.type)).toEqual(['CreditGrantExpired', 'CreditBalanceTransactionRecorded']);
        expect(postingsOf(events)[0]).toMatchObject({
          type: 'debit',
          reason: 'credits_expired',
          amount: 700n,
          effective_at: 1000,
          created: 1500,
        });
        expect(state.balance).toBe(0n);
        expect(nextDueAt(state, 0)).toBeNull();
      });
  });

  it('given a fully used grant, when it expires, then no zero posting (but it is marked expired)', () => {
    given(step(create({ expiresAt: 1000 }), apply(1000n)))
      .when({ type: 'Tick', at: 1000, nextTxnId })
      .then((events, state) => {
        expect(events.map((e) => e.type)).toEqual(['CreditGrantExpired']);
        expect(state.expiredAt).toBe(1000);
      });
  });

  it('given a grant effective and expiring before the tick, then granted then expired, in order', () => {
    given(create({ effectiveAt: 500, expiresAt: 800 }))
      .when({ type: 'Tick', at: 900, nextTxnId })
      .then((events) =>
        expect(postingsOf(events).map((p) => [p.reason, p.amount])).toEqual([
          ['credits_granted', 1000n],
          ['credits_expired', 1000n],
        ]),
      );
  });

  it('next due: effective_at first, then expires_at, strictly after the bound', () => {
    const s = foldGrant(create({ effectiveAt: 500, expiresAt: 800 }));
    expect(nextDueAt(s, 100)).toBe(500);
    expect(nextDueAt(s, 500)).toBe(800);
    expect(nextDueAt(s, 800)).toBeNull();
  });

  it('the expire endpoint sets expires_at to now and removes the remainder; twice is an error', () => {
    given(create())
      .when({ type: 'ExpireGrant', at: 300, nextTxnId })
      .then((events, state) => {
        expect(events[0]).toMatchObject({ type: 'CreditGrantExpired', data: { expires_at: 300 } });
        expect(postingsOf(events)[0]).toMatchObject({ reason: 'credits_expired', amount: 1000n });
        expect(state.expiresAt).toBe(300);
      });
    given(step(create(), { type: 'ExpireGrant', at: 300, nextTxnId }))
      .when({ type: 'ExpireGrant', at: 301, nextTxnId })
      .then(/already expired/);
    given(step(create(), { type: 'ExpireGrant', at: 300, nextTxnId }))
      .when({ type: 'ExpireGrant', at: 301, nextTxnId })
      .then({ code: 'credit_grant_expired' });
  });

  it('an expired grant that never became effective is never granted later', () => {
    const h = create({ effectiveAt: 500 });
    given(h)
      .when({ type: 'ExpireGrant', at: 200, nextTxnId })
      .then((events) => expect(postingsOf(events)).toEqual([]));
    given(step(h, { type: 'ExpireGrant', at: 200, nextTxnId }))
      .when({ type: 'Tick', at: 600, nextTxnId })
      .then([]);
  });

  it('a voided grant cannot be expired', () => {
    given(step(create(), { type: 'VoidGrant', at: 200, nextTxnId }))
      .when({ type: 'ExpireGrant', at: 300, nextTxnId })
      .then({ code: 'credit_grant_voided' });
  });
});

describe('credit grant: voiding', () => {
  it('given 1000 left, when voided, then voided_at and a credits_voided debit; twice is an error', () => {
    given(create())
      .when({ type: 'VoidGrant', at: 300, nextTxnId })
      .then((events, state) => {
        expect(postingsOf(events)[0]).toMatchObject({ type: 'debit', reason: 'credits_voided', amount: 1000n });
        expect(state.voidedAt).toBe(300);
        expect(state.balance).toBe(0n);
      });
    const voided = step(create(), { type: 'VoidGrant', at: 300, nextTxnId });
    given(voided)
      .when({ type: 'VoidGrant', at: 301, nextTxnId })
      .then(/voided/);
    given(voided)
      .when({ type: 'UpdateGrant', now: 301, metadata: { a: 'b' } })
      .then({ code: 'credit_grant_voided' });
  });

  it('a voided future grant is never granted', () => {
    const h = create({ effectiveAt: 500 });
    given(h)
      .when({ type: 'VoidGrant', at: 200, nextTxnId })
      .then((events) => expect(postingsOf(events)).toEqual([]));
    given(step(h, { type: 'VoidGrant', at: 200, nextTxnId }))
      .when({ type: 'Tick', at: 600, nextTxnId })
      .then([]);
  });

  it('an expired grant can still be voided (nothing left to remove)', () => {
    given(step(create(), { type: 'ExpireGrant', at: 200, nextTxnId }))
      .when({ type: 'VoidGrant', at: 300, nextTxnId })
      .then((events) => expect(events.map((e) => e.type)).toEqual(['CreditGrantVoided']));
  });
});

describe('credit grant: reinstatement when the invoice is voided', () => {
  const applied = (h: CreditGrantEvent[]) => step(h, apply(400n));
  const reinstate: GrantCommand = { type: 'ReinstateApplication', invoice: 'in_1', line: 'il_1', at: 300, nextTxnId };

  it('given 400 applied, when the invoice is voided, then a credits_application_invoice_voided credit of 400', () => {
    given(applied(create()))
      .when(reinstate)
      .then((events, state) => {
        expect(postingsOf(events)).toEqual([
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
  });

  it('reinstating twice, or a line never applied, has no effect', () => {
    const h = applied(create());
    given(step(h, reinstate))
      .when({ ...reinstate, at: 301 })
      .then([]);
    given(h)
      .when({ ...reinstate, invoice: 'in_2' })
      .then([]);
  });

  it('given the grant already expired, when reinstated, then the credits expire immediately', () => {
    const h = applied(create({ expiresAt: 250 }));
    given(h)
      .when({ type: 'Tick', at: 260, nextTxnId })
      .then((events) => expect(postingsOf(events).map((p) => [p.reason, p.amount])).toEqual([['credits_expired', 600n]]));
    given(step(h, { type: 'Tick', at: 260, nextTxnId }))
      .when(reinstate)
      .then((events, state) => {
        expect(postingsOf(events).map((p) => [p.type, p.reason, p.amount])).toEqual([
          ['credit', 'credits_application_invoice_voided', 400n],
          ['debit', 'credits_expired', 400n],
        ]);
        expect(state.balance).toBe(0n);
      });
  });

  it('given the grant was voided, when reinstated, then the credits are voided again at once', () => {
    given(step(applied(create()), { type: 'VoidGrant', at: 250, nextTxnId }))
      .when(reinstate)
      .then((events, state) => {
        expect(postingsOf(events).map((p) => p.reason)).toEqual(['credits_application_invoice_voided', 'credits_voided']);
        expect(state.balance).toBe(0n);
      });
  });
});

describe('credit grant: update', () => {
  it('changes only expires_at and metadata; "" removes a key; null expiry = never', () => {
    given(create({ metadata: { a: '1', b: '2' }, expiresAt: 5000 }))
      .when({ type: 'UpdateGrant', now: 200, expiresAt: null, metadata: { a: '', c: '3' } })
      .then((_events, state) => {
        expect(state.expiresAt).toBeNull();
        expect(state.metadata).toEqual({ b: '2', c: '3' });
        expect(state.updated).toBe(200);
      });
  });

  it('refuses an expires_at in the past, and changes on an expired grant', () => {
    const h = create();
    given(h)
      .when({ type: 'UpdateGrant', now: 200, expiresAt: 150 })
      .then(/future/);
    given(step(h, { type: 'ExpireGrant', at: 300, nextTxnId }))
      .when({ type: 'UpdateGrant', now: 400, metadata: { a: 'b' } })
      .then(/expired/);
  });

  it('refuses an expires_at not after effective_at', () => {
    given(create({ effectiveAt: 500 }))
      .when({ type: 'UpdateGrant', now: 200, expiresAt: 400 })
      .then({ code: 'parameter_invalid', param: 'expires_at' });
  });

  it('a shortened expiry is what the next tick honours', () => {
    given(create({ expiresAt: 5000 }))
      .when({ type: 'UpdateGrant', now: 200, expiresAt: 300 })
      .then((_events, state: GrantState) => expect(nextDueAt(state, 200)).toBe(300));
  });
});

describe('evolve is total', () => {
  it('skips unknown and malformed events', () => {
    const s = initialGrantState();
    const evolve = grantDecider.evolve as (s: GrantState, e: { type: string; data: unknown }) => GrantState;
    expect(evolve(s, { type: 'Nope', data: {} })).toBe(s);
    expect(evolve(s, { type: 'CreditGrantCreated', data: { id: 1 } })).toBe(s);
    expect(evolve(s, { type: 'StripeEventEmitted', data: {} })).toBe(s);
  });
});

describe('the event contract (CREDIT_LEDGER_EVENTS)', () => {
  it("accepts everything the decider emits over a grant's life", () => {
    const steps: GrantCommand[] = [
      { type: 'ApplyCredits', invoice: 'in_1', line: 'il_1', amount: 400n, at: 200, txnId: 'cbtxn_a' },
      { type: 'UpdateGrant', now: 210, expiresAt: 4000, metadata: { a: '', b: '2' } },
      { type: 'UpdateGrant', now: 220, expiresAt: null },
      { type: 'ReinstateApplication', invoice: 'in_1', line: 'il_1', at: 300, nextTxnId },
      { type: 'ExpireGrant', at: 400, nextTxnId },
    ];
    const all = steps.reduce(step, create({ expiresAt: 5000, metadata: { a: '1' } }));
    const second = create({ id: 'credgr_2', effectiveAt: 500 });
    const events = [...all, ...step(second, { type: 'VoidGrant', at: 200, nextTxnId })];
    expect(new Set(events.map((e) => e.type))).toEqual(
      new Set(['CreditGrantCreated', 'CreditBalanceTransactionRecorded', 'CreditGrantUpdated', 'CreditGrantExpired', 'CreditGrantVoided']),
    );
    for (const e of events) expect(eventContractViolation(CREDIT_LEDGER_EVENTS, e.type, e.data), e.type).toBeNull();
  });

  it('refuses a posting whose amount is not whole minor units', () => {
    const [posting] = postingsOf(create());
    expect(eventContractViolation(CREDIT_LEDGER_EVENTS, 'CreditBalanceTransactionRecorded', { ...posting, amount: '1.5' })).toMatch(
      /amount/,
    );
  });
});
