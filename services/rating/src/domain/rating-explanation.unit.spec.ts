import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reprorateLine, rerate, stepsAddUp } from '@meterflow/contracts';
import { explainLicensed, explainProration, explainRating, pricingDoc, prorationPart } from './rating-explanation.js';
import { rateUsage, type PricingTerms } from './rating.math.js';

/*
 * Issue 8 item 10: an explanation's steps add up to the line's cents, and re-rating it with the
 * independent `rerate` of @meterflow/contracts gives rating's amount, whatever the terms.
 */

const decimal = fc.oneof(
  fc.integer({ min: 0, max: 5000 }).map(String),
  fc.tuple(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 9999 })).map(([a, b]) => `${a}.${String(b).padStart(4, '0')}`),
);
const perUnit: fc.Arbitrary<PricingTerms> = fc.record({
  billing_scheme: fc.constant('per_unit' as const),
  unit_amount_decimal: decimal,
  tiers_mode: fc.constant(null),
  tiers: fc.constant(null),
  transform_quantity: fc.option(
    fc.record({ divide_by: fc.integer({ min: 1, max: 1000 }), round: fc.constantFrom('up' as const, 'down' as const) }),
    {
      nil: null,
    },
  ),
});
const tiered: fc.Arbitrary<PricingTerms> = fc
  .tuple(
    fc.constantFrom('graduated' as const, 'volume' as const),
    fc.uniqueArray(fc.integer({ min: 1, max: 2000 }), { minLength: 0, maxLength: 4 }),
    fc.array(fc.tuple(fc.option(decimal, { nil: null }), fc.option(decimal, { nil: null })), { minLength: 5, maxLength: 5 }),
  )
  .map(([mode, bounds, amounts]) => {
    const ups = [...bounds.sort((a, b) => a - b), null];
    return {
      billing_scheme: 'tiered' as const,
      unit_amount_decimal: null,
      tiers_mode: mode,
      tiers: ups.map((up_to, i) => ({ up_to, unit_amount_decimal: amounts[i]![0] ?? '1', flat_amount_decimal: amounts[i]![1] })),
      transform_quantity: null,
    };
  });
const usage = fc.oneof(fc.integer({ min: -100, max: 10_000 }).map(String), fc.constant('0'), fc.constant('2.5'));

describe('explaining a rating', () => {
  it('given any terms and usage, then the steps add up to the exact amount, rounded once to rating’s amount', () => {
    fc.assert(
      fc.property(fc.oneof(perUnit, tiered), usage, (terms, u) => {
        const r = explainRating(terms, u);
        expect(stepsAddUp(r)).toBe(true);
        expect(r.amount).toBe(Number(rateUsage(terms, u).amount));
      }),
      { numRuns: 500 },
    );
  });

  it('given any terms and usage, then re-rating the explanation (contracts.rerate) gives rating’s cents', () => {
    fc.assert(
      fc.property(fc.oneof(perUnit, tiered), usage, (terms, u) => {
        expect(rerate(pricingDoc(terms), u)).toBe(Number(rateUsage(terms, u).amount));
      }),
      { numRuns: 500 },
    );
  });

  it('given 150 minutes at 10 USD per hour (divide_by 60, up), then the transform bills 3 and the line 3000 (seed car rental)', () => {
    const r = explainRating(
      {
        billing_scheme: 'per_unit',
        unit_amount_decimal: '1000',
        tiers_mode: null,
        tiers: null,
        transform_quantity: { divide_by: 60, round: 'up' },
      },
      '150',
    );
    expect(r.transform).toEqual({ divide_by: 60, round: 'up', exact: '2.5', billed_quantity: 3 });
    expect(r.steps).toEqual([
      { description: '3 × 1000', tier: null, quantity: '3', unit_amount_decimal: '1000', flat_amount_decimal: '0', amount_decimal: '3000' },
    ]);
    expect(r.amount).toBe(3000);
  });

  it('given graduated tiers (first 10 at 5 + flat 100, then 2), when 25 units, then two steps 150 and 30', () => {
    const r = explainRating(
      {
        billing_scheme: 'tiered',
        unit_amount_decimal: null,
        tiers_mode: 'graduated',
        tiers: [
          { up_to: 10, unit_amount_decimal: '5', flat_amount_decimal: '100' },
          { up_to: null, unit_amount_decimal: '2', flat_amount_decimal: null },
        ],
        transform_quantity: null,
      },
      '25',
    );
    expect(r.steps.map((s) => [s.tier, s.quantity, s.amount_decimal])).toEqual([
      [0, '10', '150'],
      [1, '15', '30'],
    ]);
    expect(r.amount).toBe(180);
  });

  it('given a licensed line billed for part of a period, then the proration names the full amount and what was billed', () => {
    const terms: PricingTerms = {
      billing_scheme: 'per_unit',
      unit_amount_decimal: '1000',
      tiers_mode: null,
      tiers: null,
      transform_quantity: null,
    };
    expect(explainLicensed(terms, 2, 2000).proration).toBeNull();
    expect(explainLicensed(terms, 2, 1000).proration).toEqual({ full_amount: 2000, amount: 1000 });
  });
});

// Reference §4 "Proration / item removal" (issue 8 item 7): a proration bills [at, period end) of
// the full period, prorated to the second and rounded once; replayed by `reprorateLine`.
describe('explaining a proration invoice item', () => {
  const seat: PricingTerms = {
    billing_scheme: 'per_unit',
    unit_amount_decimal: '500',
    tiers_mode: null,
    tiers: null,
    transform_quantity: null,
  };
  const JAN1 = Date.UTC(2026, 0, 1) / 1000;
  const JAN16 = Date.UTC(2026, 0, 16) / 1000;
  const FEB1 = Date.UTC(2026, 1, 1) / 1000;
  const monthly = { billing_cycle_anchor: JAN1, recurrence: { interval: 'month' as const, interval_count: 1 } };
  const classic = { ...monthly, billing_mode: { type: 'classic' as const } } as Parameters<typeof prorationPart>[0];
  const flexible = { ...monthly, billing_mode: { type: 'flexible' as const } } as Parameters<typeof prorationPart>[0];
  const line = (amount: number) => ({ period: { start: JAN16, end: FEB1 }, amount });

  it('given seats 1 -> 3 on Jan 16 (16 of 31 days left), then the credit is 500 x 16/31 = 258 and the charge 1500 x 16/31 = 774, replayed', () => {
    const part = prorationPart(classic, line(-258));
    expect(part).toEqual({ period: { start: JAN1, end: FEB1 }, remaining_seconds: 16 * 86400, period_seconds: 31 * 86400 });
    const credit = explainProration(seat, 1, -258, part);
    expect(credit.proration).toMatchObject({ full_amount: 500, amount: -258, remaining_seconds: 16 * 86400 });
    expect(reprorateLine({ rating: credit })).toBe(-258);
    expect(reprorateLine({ rating: explainProration(seat, 3, 774, prorationPart(classic, line(774))) })).toBe(774);
    // not a tautology: a line that billed a cent too much replays to what it should have been
    expect(reprorateLine({ rating: explainProration(seat, 3, 775, prorationPart(classic, line(775))) })).toBe(774);
  });

  it('a flexible credit credits back a debit, and a period the anchor no longer gives cannot be told again: no part', () => {
    expect(prorationPart(flexible, line(-339))).toBeNull();
    expect(prorationPart(flexible, line(452))).not.toBeNull();
    expect(prorationPart({ ...classic, billing_cycle_anchor: JAN1 + 3600 }, line(-258))).toBeNull();
    expect(explainProration(seat, 1, -339, null).proration).toEqual({ full_amount: 500, amount: -339 });
    expect(reprorateLine({ rating: explainProration(seat, 1, -339, null) })).toBeNull();
  });
});
