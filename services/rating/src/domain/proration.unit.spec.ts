import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Dec } from '@meterflow/kernel';
import {
  classicCredit,
  debitsAfter,
  flexibleCredits,
  prorate,
  prorateChange,
  prorationDescription,
  remainingShare,
  type Debit,
  type Proration,
} from './proration.js';

// A 30-day period: Jan 1 - Jan 31 2026, 00:00 UTC.
const JAN = { start: 1_767_225_600, end: 1_767_225_600 + 30 * 86_400 };
const day = (n: number) => JAN.start + n * 86_400;
const full = (cents: number) => new Dec(cents);
const sum = (ps: readonly { amount: bigint }[]) => ps.reduce((s, p) => s + p.amount, 0n);

describe('proration by time (reference §4 "Proration / item removal", issue 8 item 7)', () => {
  it('prorates to the second over the full period containing the change', () => {
    expect(remainingShare(JAN, day(15)).toString()).toBe('0.5');
    expect(remainingShare(JAN, JAN.start).toString()).toBe('1');
    expect(remainingShare(JAN, JAN.end).toString()).toBe('0');
    expect(
      remainingShare(JAN, day(10) + 1)
        .mul(JAN.end - JAN.start)
        .toNumber(),
    ).toBe(20 * 86_400 - 1);
  });

  it('rounds each line once, half up, and a credit is the negated rounding of the charge', () => {
    // 1000 x 1/3 = 333.33 -> 333; 1001 x 1/2 = 500.5 -> 501 (half up), its credit -501
    expect(prorate(full(1000), remainingShare(JAN, day(20)))).toBe(333n);
    expect(prorate(1001n, new Dec('0.5'))).toBe(501n);
    expect(classicCredit(full(1001), JAN, day(15))).toBe(-501n);
  });

  it('a quantity change 1 -> 3 on day 15 of 30: unused time on 1 credited, remaining time on 3 charged', () => {
    const items = prorateChange({
      mode: 'classic',
      period: JAN,
      at: day(15),
      before: { full: full(3000), debits: [] },
      after: { full: full(9000) },
    });
    expect(items).toEqual<Proration[]>([
      { kind: 'credit', amount: -1500n, period: { start: day(15), end: JAN.end }, credited_invoice_item: null },
      { kind: 'charge', amount: 4500n, period: { start: day(15), end: JAN.end }, credited_invoice_item: null },
    ]);
  });

  it('classic recomputes the credit from the current price and quantity, flexible credits back what was debited (reference §4 billing_mode)', () => {
    // qty 1 charged 3000 for the period; raised to 2 with proration_behavior=none (nothing charged, the
    // debit stands); on day 20 raised to 3 with prorations.
    const debits: Debit[] = [{ amount: 3000n, start: JAN.start, end: JAN.end, invoice_item: null }];
    const change = { period: JAN, at: day(20), before: { full: full(6000), debits }, after: { full: full(9000) } };
    expect(prorateChange({ ...change, mode: 'classic' }).map((p) => p.amount)).toEqual([-2000n, 3000n]);
    expect(prorateChange({ ...change, mode: 'flexible' }).map((p) => p.amount)).toEqual([-1000n, 3000n]);
  });

  it('flexible credits each standing debit for the part of its own span after the change, naming the invoice item', () => {
    const debits: Debit[] = [
      { amount: 1000n, start: day(10), end: JAN.end, invoice_item: 'ii_a' }, // charged for 20 days
      { amount: 600n, start: day(20), end: JAN.end, invoice_item: 'ii_b' },
    ];
    expect(flexibleCredits(debits, day(25)).map((c) => [c.amount, c.debit.invoice_item])).toEqual([
      [-250n, 'ii_a'],
      [-300n, 'ii_b'],
    ]);
    const items = prorateChange({ mode: 'flexible', period: JAN, at: day(25), before: { full: full(0), debits }, after: null });
    expect(items.map((p) => p.credited_invoice_item)).toEqual(['ii_a', 'ii_b']);
  });

  it('nothing debited, nothing credited (flexible); zero amounts make no item', () => {
    expect(prorateChange({ mode: 'flexible', period: JAN, at: day(5), before: { full: full(3000), debits: [] }, after: null })).toEqual([]);
    expect(
      prorateChange({ mode: 'classic', period: JAN, at: day(5), before: { full: full(0), debits: [] }, after: { full: full(0) } }),
    ).toEqual([]);
    expect(
      prorateChange({ mode: 'classic', period: JAN, at: JAN.end, before: { full: full(10), debits: [] }, after: { full: full(20) } }),
    ).toEqual([]);
  });

  it('after a prorated change the charge is the one debit standing; without prorations the debits stand as they were', () => {
    const before: Debit[] = [{ amount: 3000n, start: JAN.start, end: JAN.end, invoice_item: null }];
    const items = prorateChange({
      mode: 'flexible',
      period: JAN,
      at: day(15),
      before: { full: full(3000), debits: before },
      after: { full: full(6000) },
    });
    expect(debitsAfter(before, items, 'ii_c', true)).toEqual([{ amount: 3000n, start: day(15), end: JAN.end, invoice_item: 'ii_c' }]);
    expect(debitsAfter(before, [], null, false)).toEqual(before);
  });

  it('describes items as Stripe does', () => {
    expect(prorationDescription('credit', 2, 'Seat', day(15))).toBe('Unused time on 2 × Seat after 16 Jan 2026');
    expect(prorationDescription('charge', 3, 'Seat', day(15))).toBe('Remaining time on 3 × Seat after 16 Jan 2026');
  });
});

// ---- properties over random changes -------------------------------------------------------

const cents = fc.integer({ min: 0, max: 10_000_000 });
const offset = fc.integer({ min: 0, max: JAN.end - JAN.start });
const mode = fc.constantFrom<'classic' | 'flexible'>('classic', 'flexible');

describe('proration properties (fast-check)', () => {
  it('credit + charge of one change never exceed a full-period charge of the larger amount, nor go below minus the smaller', () => {
    fc.assert(
      fc.property(cents, cents, offset, (a, b, t) => {
        const at = JAN.start + t;
        const items = prorateChange({
          mode: 'classic',
          period: JAN,
          at,
          before: { full: full(a), debits: [] },
          after: { full: full(b) },
        });
        const net = sum(items);
        // |credit| <= a and charge <= b, each within the period's share: the net lies in [-a, b].
        expect(net <= BigInt(b)).toBe(true);
        expect(net >= -BigInt(a)).toBe(true);
        // and the period as a whole (the full charge a, then the change) costs between min(a, b) and max(a, b)
        const total = BigInt(a) + net;
        expect(total >= BigInt(Math.min(a, b)) - 1n && total <= BigInt(Math.max(a, b)) + 1n).toBe(true);
      }),
    );
  });

  it('flexible: a whole chain of changes credits back exactly what was debited after each change (money conserved)', () => {
    fc.assert(
      fc.property(cents, fc.array(fc.tuple(offset, cents), { maxLength: 8 }), (first, changes) => {
        let debits: Debit[] = [{ amount: BigInt(first), start: JAN.start, end: JAN.end, invoice_item: null }];
        let debited = BigInt(first);
        let credited = 0n;
        let n = 0;
        const times = changes.map(([t]) => JAN.start + t).sort((x, y) => x - y);
        for (const [i, at] of times.entries()) {
          const items = prorateChange({
            mode: 'flexible',
            period: JAN,
            at,
            before: { full: full(0), debits },
            after: { full: full(changes[i]![1]) },
          });
          for (const p of items) if (p.kind === 'credit') credited += -p.amount;
          // never more credited than stands debited
          expect(credited <= debited).toBe(true);
          debits = debitsAfter(debits, items, `ii_${n++}`, true);
          debited += sum(items.filter((p) => p.kind === 'charge'));
        }
        // cancelling at the period end credits nothing more; everything charged and not credited is what was used
        expect(sum(flexibleCredits(debits, JAN.end))).toBe(0n);
        // cancelling at the start of the last debit's span gives the rest back exactly
        const last = debits[0];
        if (last) expect(-sum(flexibleCredits(debits, last.start))).toBe(last.amount);
      }),
    );
  });

  it('both modes agree when every change was prorated (nothing charged differs from the current price)', () => {
    fc.assert(
      fc.property(mode, cents, cents, offset, offset, (m, a, b, t1, t2) => {
        const [x, y] = [Math.min(t1, t2), Math.max(t1, t2)].map((t) => JAN.start + t) as [number, number];
        const period = JAN;
        // a for the whole period, changed to b at x (prorated), then removed at y
        const first: Debit[] = [{ amount: BigInt(a), start: period.start, end: period.end, invoice_item: null }];
        const change = prorateChange({ mode: m, period, at: x, before: { full: full(a), debits: first }, after: { full: full(b) } });
        const standing = debitsAfter(first, change, 'ii_1', true);
        const removal = prorateChange({ mode: m, period, at: y, before: { full: full(b), debits: standing }, after: null });
        const classicRemoval = prorateChange({ mode: 'classic', period, at: y, before: { full: full(b), debits: [] }, after: null });
        // the flexible credit of the charge made at x differs from classic's recomputation by rounding only
        expect(Math.abs(Number(sum(removal) - sum(classicRemoval))) <= 1).toBe(true);
        // whatever the mode, the period never costs more than the larger price in full
        expect(BigInt(a) + sum(change) + sum(removal) <= BigInt(Math.max(a, b)) + 2n).toBe(true);
        expect(BigInt(a) + sum(change) + sum(removal) >= -2n).toBe(true);
      }),
    );
  });
});
