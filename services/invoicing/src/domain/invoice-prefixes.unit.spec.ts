import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { assignPrefixes } from './invoice-prefixes.js';

// Small alphabets so that customers, held prefixes and candidates collide often.
const customer = fc.constantFrom('cus_a', 'cus_b', 'cus_c', 'cus_d', 'cus_e', 'cus_f');
const prefix = fc.constantFrom('AA', 'BB', 'CC', 'DD', 'EE', 'FF', 'GG');
const input: fc.Arbitrary<Input> = fc.record({
  customers: fc.uniqueArray(customer, { minLength: 1, maxLength: 6 }),
  held: fc.dictionary(customer, prefix),
  others: fc.uniqueArray(prefix, { maxLength: 4 }),
  candidates: fc.dictionary(customer, fc.uniqueArray(prefix, { maxLength: 4 })),
});

type Input = { customers: string[]; held: Record<string, string>; others: string[]; candidates: Record<string, string[]> };

function run({ customers, held, others, candidates }: Input) {
  // Prefixes are unique among holders: keep the first holder of each.
  const holders = new Map<string, string>();
  for (const [c, p] of Object.entries(held)) if (![...holders.values()].includes(p)) holders.set(c, p);
  const taken = new Set<string>([...holders.values(), ...others]);
  const cands = (c: string) => candidates[c] ?? [];
  return { holders, taken, cands, out: assignPrefixes(customers, holders, taken, cands) };
}

describe('assignPrefixes', () => {
  it('keeps held prefixes, gives the others distinct free ones, and leaves out only customers without a free candidate', () => {
    fc.assert(
      fc.property(input, (i) => {
        const { holders, taken, cands, out } = run(i);
        // every customer is either assigned or unassigned, never both
        expect([...out.assigned.keys(), ...out.unassigned].sort()).toEqual([...i.customers].sort());
        // prefixes are distinct across customers
        expect(new Set(out.assigned.values()).size).toBe(out.assigned.size);
        const given = new Set<string>();
        for (const c of i.customers) {
          const p = out.assigned.get(c);
          if (holders.has(c)) {
            expect(p).toBe(holders.get(c));
          } else if (p !== undefined) {
            // the first candidate neither taken nor given to an earlier customer of the call
            expect(p).toBe(cands(c).find((x) => !taken.has(x) && !given.has(x)));
          } else {
            expect(cands(c).every((x) => taken.has(x) || given.has(x))).toBe(true);
          }
          if (p !== undefined) given.add(p);
        }
      }),
    );
  });

  it('is deterministic and does not change its inputs', () => {
    fc.assert(
      fc.property(input, (i) => {
        const a = run(i);
        const takenBefore = [...a.taken];
        const b = run(i);
        expect([...b.out.assigned]).toEqual([...a.out.assigned]);
        expect(b.out.unassigned).toEqual(a.out.unassigned);
        expect([...a.taken]).toEqual(takenBefore);
      }),
    );
  });

  it('two customers with the same first candidate: the first in order gets it, the second its next one', () => {
    const cands: Record<string, string[]> = { cus_1: ['3F9A12BC', '3F9A12BC0'], cus_2: ['3F9A12BC', '3F9A12BC7'] };
    const { assigned, unassigned } = assignPrefixes(['cus_1', 'cus_2'], new Map(), new Set(), (c) => cands[c]!);
    expect([...assigned]).toEqual([
      ['cus_1', '3F9A12BC'],
      ['cus_2', '3F9A12BC7'],
    ]);
    expect(unassigned).toEqual([]);
  });
});
