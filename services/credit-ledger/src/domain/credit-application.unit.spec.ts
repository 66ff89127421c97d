import { describe, expect, it } from 'vitest';
import { allocateCredits, compareGrants, isApplyCandidate, scopeCovers, type PayableLine } from './credit-application.js';
import { initialGrantState, type GrantState } from './credit-grant.decider.js';

/** A funded, effective grant, as the ledger would hold it. */
const g = (id: string, over: Partial<GrantState> = {}): GrantState => ({
  ...initialGrantState(),
  exists: true,
  id,
  customer: 'cus_1',
  currency: 'usd',
  amount: 1000n,
  balance: 1000n,
  granted: true,
  effectiveAt: 100,
  created: 100,
  ...over,
});
const line = (id: string, amount: bigint, over: Partial<PayableLine> = {}): PayableLine => ({
  id,
  amount,
  price: 'price_m',
  metered: true,
  ...over,
});
const ids = (gs: GrantState[]) => [...gs].sort(compareGrants).map((x) => x.id);

describe('ordering of several grants', () => {
  it('priority first: 0 before 50 before 100', () => {
    expect(ids([g('c', { priority: 100 }), g('a', { priority: 0 }), g('b')])).toEqual(['a', 'b', 'c']);
  });
  it('then soonest expiry, grants without expiry last', () => {
    expect(ids([g('never'), g('late', { expiresAt: 9000 }), g('soon', { expiresAt: 5000 })])).toEqual(['soon', 'late', 'never']);
  });
  it('then promotional before paid', () => {
    expect(ids([g('paid'), g('promo', { category: 'promotional' })])).toEqual(['promo', 'paid']);
  });
  it('then earlier effective_at, then earlier created, then id', () => {
    expect(ids([g('e2', { effectiveAt: 200 }), g('e1', { effectiveAt: 150 })])).toEqual(['e1', 'e2']);
    expect(ids([g('c2', { created: 200 }), g('c1', { created: 150 })])).toEqual(['c1', 'c2']);
    expect(ids([g('b'), g('a')])).toEqual(['a', 'b']);
  });
  it('priority outranks expiry, expiry outranks category', () => {
    expect(ids([g('soon', { expiresAt: 500, priority: 60 }), g('later', { priority: 40 })])).toEqual(['later', 'soon']);
    expect(ids([g('promo', { category: 'promotional' }), g('paid-expiring', { expiresAt: 500 })])).toEqual(['paid-expiring', 'promo']);
  });
});

describe('allocating credits to invoice lines', () => {
  it('given a 1000 grant and a 3000 line, then 1000 pays part of the line', () => {
    expect(allocateCredits([g('a')], [line('il_1', 3000n)], 'usd', 200)).toEqual([{ line: 'il_1', grant: 'a', amount: 1000n }]);
  });

  it('never more than the line: a 1000 grant and a 300 line leaves 700', () => {
    expect(allocateCredits([g('a')], [line('il_1', 300n)], 'usd', 200)).toEqual([{ line: 'il_1', grant: 'a', amount: 300n }]);
  });

  it('a line consumes several grants in order, each its own allocation', () => {
    const out = allocateCredits(
      [g('paid', { balance: 500n }), g('promo', { category: 'promotional', balance: 200n }), g('p0', { priority: 0, balance: 100n })],
      [line('il_1', 1000n)],
      'usd',
      200,
    );
    expect(out).toEqual([
      { line: 'il_1', grant: 'p0', amount: 100n },
      { line: 'il_1', grant: 'promo', amount: 200n },
      { line: 'il_1', grant: 'paid', amount: 500n },
    ]);
  });

  it('a grant is shared across lines until it runs out', () => {
    const out = allocateCredits(
      [g('a', { balance: 500n }), g('b', { balance: 500n })],
      [line('il_1', 300n), line('il_2', 400n), line('il_3', 400n)],
      'usd',
      200,
    );
    expect(out).toEqual([
      { line: 'il_1', grant: 'a', amount: 300n },
      { line: 'il_2', grant: 'a', amount: 200n },
      { line: 'il_2', grant: 'b', amount: 200n },
      { line: 'il_3', grant: 'b', amount: 300n },
    ]);
  });

  it('only metered lines; only the same currency', () => {
    expect(allocateCredits([g('a')], [line('il_1', 300n, { metered: false })], 'usd', 200)).toEqual([]);
    expect(allocateCredits([g('a', { currency: 'eur' })], [line('il_1', 300n)], 'usd', 200)).toEqual([]);
    expect(allocateCredits([g('a')], [line('il_1', 300n)], 'USD', 200)).toHaveLength(1);
  });

  it('prices[] scope pays only lines of those prices', () => {
    const scoped = g('s', { scope: { price_type: null, prices: ['price_x'] } });
    const out = allocateCredits([scoped], [line('il_1', 300n, { price: 'price_y' }), line('il_2', 300n, { price: 'price_x' })], 'usd', 200);
    expect(out).toEqual([{ line: 'il_2', grant: 's', amount: 300n }]);
    expect(scopeCovers({ price_type: 'metered', prices: null }, line('x', 1n, { price: null }))).toBe(true);
  });

  it('not yet effective, expired at or before `at`, voided, unfunded, or empty grants are skipped', () => {
    const grants = [
      g('future', { effectiveAt: 300 }),
      g('expiring-now', { expiresAt: 200 }),
      g('expired', { expiredAt: 150, expiresAt: 150 }),
      g('voided', { voidedAt: 150 }),
      g('not-granted', { granted: false }),
      g('empty', { balance: 0n }),
      g('ok', { expiresAt: 201 }),
    ];
    expect(allocateCredits(grants, [line('il_1', 5000n)], 'usd', 200)).toEqual([{ line: 'il_1', grant: 'ok', amount: 1000n }]);
  });

  it('zero and negative lines take nothing', () => {
    expect(allocateCredits([g('a')], [line('il_0', 0n), line('il_neg', -100n)], 'usd', 200)).toEqual([]);
  });

  it('the acceptance case: 10.00 USD paid credit on a 30.00 USD line pays 10.00', () => {
    const out = allocateCredits([g('credgr_1', { amount: 1000n, balance: 1000n })], [line('il_1', 3000n)], 'usd', 200);
    expect(out).toEqual([{ line: 'il_1', grant: 'credgr_1', amount: 1000n }]);
  });
});

describe('candidates of a request within a batch', () => {
  it('funded with a balance, or not funded yet but effective by `at`: a candidate', () => {
    expect(isApplyCandidate(g('a'), 200)).toBe(true);
    expect(isApplyCandidate(g('a', { granted: false, balance: 0n }), 200)).toBe(true);
    // Expiring by `at` but not yet processed: still a candidate (the Tick expires it first).
    expect(isApplyCandidate(g('a', { expiresAt: 150 }), 200)).toBe(true);
  });

  it('used up by an earlier request, expired, voided, not effective yet, or unknown: not a candidate', () => {
    expect(isApplyCandidate(g('a', { balance: 0n }), 200)).toBe(false);
    expect(isApplyCandidate(g('a', { expiredAt: 150, expiresAt: 150 }), 200)).toBe(false);
    expect(isApplyCandidate(g('a', { voidedAt: 150 }), 200)).toBe(false);
    expect(isApplyCandidate(g('a', { effectiveAt: 300, granted: false, balance: 0n }), 200)).toBe(false);
    expect(isApplyCandidate(initialGrantState(), 200)).toBe(false);
  });
});
