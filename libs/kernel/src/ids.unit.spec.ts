import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { firstInvoicePrefix, invoicePrefixCandidates, kindOfId, newId, uuidV7 } from './ids.js';

describe('newId', () => {
  it('is <prefix>_<8 time><3 sequence><13 random> in base62, unique, and sorts by creation time', () => {
    const ids = Array.from({ length: 50_000 }, (_, i) => newId('event', 1_700_000_000_000 + Math.floor(i / 1000)));
    for (const id of ids.slice(0, 100)) expect(id).toMatch(/^evt_[0-9A-Za-z]{24}$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(kindOfId(ids[0]!)).toBe('event');
    // the time part is the millisecond clock in 8 base62 digits
    expect(newId('invoice', 0).slice(3, 11)).toBe('00000000');
    expect(newId('invoice', 62 ** 8 - 1).slice(3, 11)).toBe('zzzzzzzz');
  });

  it('draws the random part uniformly over the alphabet', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) for (const c of newId('customer').slice(-13)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // 260,000 draws: ~4,194 per digit; a biased or truncated draw would be far off
    for (const n of counts.values()) expect(Math.abs(n - 260_000 / 62)).toBeLessThan(500);
  });
});

describe('invoicePrefixCandidates', () => {
  it('are distinct 8-12 character uppercase hex prefixes, the 8-character hash first, the same for the same customer', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (customer) => {
        const c = invoicePrefixCandidates(customer);
        expect(c[0]).toMatch(/^[0-9A-F]{8}$/);
        for (const p of c) expect(p).toMatch(/^[0-9A-F]{8,12}$/);
        expect(new Set(c).size).toBe(c.length);
        expect(c.length).toBeGreaterThanOrEqual(50);
        expect(invoicePrefixCandidates(customer)).toEqual(c);
        expect(firstInvoicePrefix(customer)).toBe(c[0]);
      }),
    );
  });

  it('first candidates collide between customers as 32 bits do, which is why they are only candidates', () => {
    // 8 hex characters for 200,000 ids: the birthday bound expects ~4.7 shared prefixes; 12 expect none.
    const first = new Map<string, number>();
    const twelve = new Set<string>();
    for (let i = 0; i < 200_000; i++) {
      const c = invoicePrefixCandidates(`cus_${i}`);
      first.set(c[0]!, (first.get(c[0]!) ?? 0) + 1);
      twelve.add(c[4]!);
    }
    expect(first.size).toBeLessThan(200_000);
    expect(twelve.size).toBe(200_000);
  });
});

describe('uuidV7', () => {
  const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const msOf = (u: string): number => parseInt(u.slice(0, 8) + u.slice(9, 13), 16);

  it('is an RFC 9562 version 7 UUID whose first 48 bits are the millisecond time', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (ms) => {
        const u = uuidV7(ms);
        expect(u).toMatch(V7);
        expect(msOf(u)).toBe(ms);
      }),
      { numRuns: 2000 },
    );
    expect(msOf(uuidV7())).toBeLessThanOrEqual(Date.now());
  });

  it('sorts by creation time across milliseconds (as text and as Postgres compares uuids, byte by byte) and is unique', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 2 }), fc.integer({ min: 1, max: 10_000 }), (ms, gap) => {
        const later = Math.min(ms + gap, 2 ** 48 - 1);
        expect(uuidV7(ms) < uuidV7(later)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    const many = Array.from({ length: 50_000 }, () => uuidV7(1_700_000_000_000));
    expect(new Set(many).size).toBe(many.length);
  });

  it('keeps 74 random bits: every hex digit after the version and variant varies', () => {
    const seen = Array.from({ length: 36 }, () => new Set<string>());
    for (let i = 0; i < 2000; i++) [...uuidV7(1_700_000_000_000)].forEach((c, j) => seen[j]!.add(c));
    const random = [15, 16, 17, 20, 21, 22, ...Array.from({ length: 12 }, (_, k) => 24 + k)];
    for (const j of random) expect(seen[j]!.size).toBe(16);
    expect(seen[19]!.size).toBe(4); // the variant digit: 8, 9, a or b
  });
});
