import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareGrants } from './credit-application.js';
import { initialGrantState, type GrantState } from './credit-grant.decider.js';
import { explainGrantOrder } from './grant-order.js';

/* Issue 8 item 10: each credit says why its grant came in that order (stripe-api.md §5 "Order of application"). */

const g = (id: string, over: Partial<GrantState> = {}): GrantState => ({
  ...initialGrantState(),
  exists: true,
  id,
  effectiveAt: 100,
  created: 100,
  ...over,
});

describe('explaining the order grants were drawn in', () => {
  it('given grants differing by priority, expiry, category, effective_at, created, then each names the first key that decided', () => {
    const order = explainGrantOrder([
      g('f'),
      g('a', { priority: 10 }),
      g('b', { expiresAt: 500 }),
      g('c', { category: 'promotional' }),
      g('d', { effectiveAt: 50 }),
      g('e', { created: 50 }),
    ]);
    expect([...order].map(([id, o]) => [id, o.rank, o.before_next_by])).toEqual([
      ['a', 1, 'priority'],
      ['b', 2, 'expires_at'],
      ['c', 3, 'category'],
      ['d', 4, 'effective_at'],
      ['e', 5, 'created'],
      ['f', 6, null],
    ]);
    expect(order.get('a')!.reason).toBe('before b: priority 10 before 50 (lower first)');
  });

  it('given one grant, then it is the only one drawn', () => {
    expect(explainGrantOrder([g('x')]).get('x')).toEqual({ rank: 1, before_next_by: null, reason: 'the only grant drawn' });
  });

  it('given any grants, then the ranks follow compareGrants and each reason names a key on which they differ', () => {
    const grant = fc.record({
      priority: fc.integer({ min: 0, max: 3 }),
      expiresAt: fc.option(fc.integer({ min: 1, max: 3 }), { nil: null }),
      category: fc.constantFrom('paid' as const, 'promotional' as const),
      effectiveAt: fc.integer({ min: 1, max: 3 }),
      created: fc.integer({ min: 1, max: 3 }),
    });
    fc.assert(
      fc.property(fc.array(grant, { minLength: 1, maxLength: 8 }), (gs) => {
        const grants = gs.map((x, i) => g(`g${i}`, x));
        const order = explainGrantOrder(grants);
        const byRank = [...grants].sort((a, b) => order.get(a.id)!.rank - order.get(b.id)!.rank);
        for (let i = 0; i + 1 < byRank.length; i++) expect(compareGrants(byRank[i]!, byRank[i + 1]!)).toBeLessThan(0);
      }),
    );
  });
});
