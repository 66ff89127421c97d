import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { toJson } from './json.js';

const withReplacer = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));

describe('toJson', () => {
  it('is JSON.stringify with bigints as decimal strings, whether or not the value holds one', () => {
    const leaf = fc.oneof(fc.bigInt(), fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.double({ noNaN: true }));
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node')), fc.dictionary(fc.string(), tie('node'))),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        expect(toJson(v)).toBe(withReplacer(v));
      }),
    );
  });

  it('writes money in minor units as a string', () => {
    expect(toJson({ amount: 12345678901234567890n, n: 1 })).toBe('{"amount":"12345678901234567890","n":1}');
  });

  it('still throws what JSON.stringify throws for other reasons', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => toJson(cyclic)).toThrow(/circular/i);
  });
});
