import { describe, expect, it } from 'vitest';
import { decodePage, encodePage, parseCustomerSearch } from './customer-search.js';

describe('customer search queries (Stripe query language)', () => {
  it('reads exact and substring clauses joined by OR', () => {
    expect(parseCustomerSearch(`name~'rental' OR email:"a@b.com"`)).toEqual({
      join: 'OR',
      clauses: [
        { field: 'name', op: '~', value: 'rental', negate: false },
        { field: 'email', op: ':', value: 'a@b.com', negate: false },
      ],
    });
  });

  it('reads metadata, created comparisons, negation and escapes', () => {
    expect(parseCustomerSearch(`metadata['plan']:'pro' AND created>=1700000000 AND -name:'O\\'Brien'`).clauses).toEqual([
      { field: { metadata: 'plan' }, op: ':', value: 'pro', negate: false },
      { field: 'created', op: '>=', value: 1700000000, negate: false },
      { field: 'name', op: ':', value: "O'Brien", negate: true },
    ]);
  });

  it.each([
    [`name~'ab'`, 'at least 3'],
    [`name:'a' AND email:'b' OR phone:'c'`, 'mix AND and OR'],
    [`address:'x'`, 'not supported'],
    [`name:x`, 'quoted value'],
    [`name:'x`, 'unterminated'],
    [`created~'1'`, 'cannot be searched with ~'],
    [`name>'a'`, 'only be searched'],
    [`name:'a' name:'b'`, 'AND or OR'],
  ])('refuses %s', (q, message) => {
    expect(() => parseCustomerSearch(q)).toThrow(message);
  });

  it('pages with an opaque token that round-trips', () => {
    expect(decodePage(encodePage('cus_123'))).toBe('cus_123');
    expect(() => decodePage('nonsense')).toThrow('Invalid page token');
  });
});
