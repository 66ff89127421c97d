import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sameJson } from './same-json.js';

/** What `sameJson` must answer: whether both JSON texts are equal (or both calls throw). */
const byText = (a: unknown, b: unknown): boolean | 'throws' => {
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return 'throws';
  }
};
const answer = (a: unknown, b: unknown): boolean | 'throws' => {
  try {
    return sameJson(a, b);
  } catch {
    return 'throws';
  }
};

const fn = () => 1;
const leaf = fc.oneof(
  fc.constantFrom<unknown>(null, undefined, true, false, 0, -0, 1, NaN, Infinity, -Infinity, '', 'a', 'null', fn, Symbol.for('s')),
  fc.string({ maxLength: 4 }),
  fc.integer({ min: -3, max: 3 }),
  fc.double(),
  fc.date({ noInvalidDate: true }),
);
const keys = fc.constantFrom('a', 'b', 'c', '0', '1', 'items');
/** JSON-like values with everything JSON drops or rewrites: undefined, functions, symbols, NaN, dates, null prototypes. */
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(keys, tie('value'), { maxKeys: 4 }),
    fc.dictionary(keys, tie('value'), { maxKeys: 3 }).map((o) => Object.assign(Object.create(null) as object, o)),
  ),
}));

/** A copy with one change JSON may or may not see: a leaf replaced, keys reordered, an undefined added. */
const tweak = (v: unknown, how: number): unknown => {
  if (Array.isArray(v)) return v.length === 0 ? [undefined] : v.map((x, i) => (i === how % v.length ? tweak(x, how >> 1) : x));
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
    const entries = Object.entries(v);
    if (how % 3 === 0) return Object.fromEntries(entries.reverse());
    if (how % 3 === 1) return { ...Object.fromEntries(entries), zz: undefined };
    return Object.fromEntries(entries.map(([k, x], i) => [k, i === 0 ? tweak(x, how >> 1) : x]));
  }
  return how % 2 ? v : typeof v === 'number' ? v + 1 : null;
};

describe('sameJson', () => {
  it('answers what comparing the JSON texts answers, for any two values', () => {
    fc.assert(
      fc.property(value, value, (a, b) => {
        expect(answer(a, b)).toBe(byText(a, b));
      }),
      { numRuns: 3000 },
    );
  });

  it('and for a value against a near copy of itself (equal or not)', () => {
    fc.assert(
      fc.property(value, fc.nat(), (a, how) => {
        const b = tweak(a, how);
        expect(answer(a, b)).toBe(byText(a, b));
        expect(answer(b, a)).toBe(byText(b, a));
        const text = JSON.stringify(a);
        if (text !== undefined) expect(sameJson(a, JSON.parse(text))).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps the rules JSON has', () => {
    expect(sameJson({ a: undefined, b: 1 }, { b: 1 })).toBe(true);
    expect(sameJson({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(false); // key order is part of the text
    expect(sameJson([undefined, fn], [null, null])).toBe(true);
    expect(sameJson(NaN, null)).toBe(true);
    expect(sameJson([Infinity], [null])).toBe(true);
    expect(sameJson(-0, 0)).toBe(true);
    expect(sameJson(undefined, fn)).toBe(true);
    expect(sameJson(undefined, null)).toBe(false);
    expect(sameJson(new Date(0), '1970-01-01T00:00:00.000Z')).toBe(true);
    expect(sameJson({ n: 1 }, { n: '1' })).toBe(false);
    expect(() => sameJson({ n: 1n }, { n: 2n })).toThrow(TypeError);
  });
});
