import { describe, expect, it } from 'vitest';
import { billedQuantity, rateUsage, tieredAmount, type PricingTerms, type PriceTier } from './rating.math.js';

const perUnit = (unit: string, transform: PricingTerms['transform_quantity'] = null): PricingTerms => ({
  billing_scheme: 'per_unit',
  unit_amount_decimal: unit,
  tiers_mode: null,
  tiers: null,
  transform_quantity: transform,
});
const tiered = (mode: 'graduated' | 'volume', tiers: PriceTier[]): PricingTerms => ({
  billing_scheme: 'tiered',
  unit_amount_decimal: null,
  tiers_mode: mode,
  tiers,
  transform_quantity: null,
});
const tier = (up_to: number | null, unit: string | null, flat: string | null = null): PriceTier => ({
  up_to,
  unit_amount_decimal: unit,
  flat_amount_decimal: flat,
});

describe('billed quantity', () => {
  it('given 150 minutes and divide_by 60 round up, when billed, then 3 hours', () => {
    expect(billedQuantity('150', { divide_by: 60, round: 'up' })).toBe(3n);
  });
  it('given 150 minutes and divide_by 60 round down, then 2', () => {
    expect(billedQuantity('150', { divide_by: 60, round: 'down' })).toBe(2n);
  });
  it('given an exact multiple, then no rounding either way', () => {
    expect(billedQuantity('120', { divide_by: 60, round: 'up' })).toBe(2n);
    expect(billedQuantity('120', { divide_by: 60, round: 'down' })).toBe(2n);
  });
  it('given one unit over, round up bills a whole extra unit', () => {
    expect(billedQuantity('61', { divide_by: 60, round: 'up' })).toBe(2n);
  });
  it('given negative usage (adjustments), then zero', () => {
    expect(billedQuantity('-5', null)).toBe(0n);
    expect(billedQuantity('-500', { divide_by: 60, round: 'up' })).toBe(0n);
  });
  it('given zero usage, then zero', () => {
    expect(billedQuantity('0', { divide_by: 60, round: 'up' })).toBe(0n);
  });
  it('given a fractional aggregate without transform, then rounded half up', () => {
    expect(billedQuantity('2.5', null)).toBe(3n);
    expect(billedQuantity('2.4999', null)).toBe(2n);
  });
  it('given a fractional aggregate with transform, then divided exactly before rounding', () => {
    expect(billedQuantity('0.5', { divide_by: 1, round: 'up' })).toBe(1n);
    expect(billedQuantity('0.5', { divide_by: 1, round: 'down' })).toBe(0n);
  });
  it('given a huge aggregate, then exact (no float)', () => {
    expect(billedQuantity('12345678901234567890', null)).toBe(12345678901234567890n);
  });
});

describe('per-unit rating', () => {
  it('acceptance: 150 minutes at 10 USD/hour, divide_by 60 up => quantity 3, 3000', () => {
    expect(rateUsage(perUnit('1000', { divide_by: 60, round: 'up' }), '150')).toEqual({ quantity: 3n, amount: 3000n });
  });
  it('given a decimal unit amount, then one rounding of the line, half up (0.05 x 30 = 1.5 -> 2)', () => {
    expect(rateUsage(perUnit('0.05'), '30')).toEqual({ quantity: 30n, amount: 2n });
  });
  it('given 12 decimal places, then exact before the one rounding', () => {
    expect(rateUsage(perUnit('0.000000000001'), '1000000000000')).toEqual({ quantity: 1000000000000n, amount: 1n });
    expect(rateUsage(perUnit('0.333333333333'), '3')).toEqual({ quantity: 3n, amount: 1n });
  });
  it('given amount just below a half, then rounded down', () => {
    expect(rateUsage(perUnit('0.149'), '10')).toEqual({ quantity: 10n, amount: 1n });
  });
  it('given zero usage, then a zero line', () => {
    expect(rateUsage(perUnit('1000'), '0')).toEqual({ quantity: 0n, amount: 0n });
  });
});

describe('graduated tiers', () => {
  const tiers = [tier(5, '500'), tier(10, '400'), tier(null, '300')];
  it('given usage within the first tier, then the first tier rate only', () => {
    expect(rateUsage(tiered('graduated', tiers), '3').amount).toBe(1500n);
  });
  it('given usage across tiers, then each slice at its own rate', () => {
    // 5x500 + 5x400 + 2x300
    expect(rateUsage(tiered('graduated', tiers), '12').amount).toBe(2500n + 2000n + 600n);
  });
  it('given usage exactly on a bound, then the next tier is not reached', () => {
    expect(rateUsage(tiered('graduated', tiers), '5').amount).toBe(2500n);
  });
  it('given flat amounts, then every reached tier adds its flat fee', () => {
    const t = [tier(5, '0', '1000'), tier(10, '100', '200'), tier(null, '50', '300')];
    expect(rateUsage(tiered('graduated', t), '0').amount).toBe(1000n);
    expect(rateUsage(tiered('graduated', t), '5').amount).toBe(1000n);
    expect(rateUsage(tiered('graduated', t), '6').amount).toBe(1000n + 100n + 200n);
    expect(rateUsage(tiered('graduated', t), '11').amount).toBe(1000n + 500n + 200n + 50n + 300n);
  });
  it('given decimal tier amounts, then summed exactly and rounded once', () => {
    const t = [tier(2, '0.25'), tier(null, '0.125', '0.5')];
    // 2x0.25 + 1x0.125 + 0.5 = 1.125 -> 1
    expect(rateUsage(tiered('graduated', t), '3').amount).toBe(1n);
    // 2x0.25 + 3x0.125 + 0.5 = 1.375 -> 1; 7: 0.5 + 0.625 + 0.5 = 1.625 -> 2
    expect(rateUsage(tiered('graduated', t), '7').amount).toBe(2n);
  });
  it('ignores transform_quantity on tiered terms (refused at creation anyway)', () => {
    const terms = { ...tiered('graduated', tiers), transform_quantity: { divide_by: 10, round: 'up' as const } };
    expect(rateUsage(terms, '12').quantity).toBe(12n);
  });
});

describe('volume tiers', () => {
  const tiers = [tier(5, '500'), tier(10, '400'), tier(null, '300')];
  it('given usage in a tier, then the whole quantity at that tier', () => {
    expect(rateUsage(tiered('volume', tiers), '3').amount).toBe(1500n);
    expect(rateUsage(tiered('volume', tiers), '7').amount).toBe(2800n);
    expect(rateUsage(tiered('volume', tiers), '12').amount).toBe(3600n);
  });
  it('given usage on a bound, then the lower tier (bounds are inclusive)', () => {
    expect(rateUsage(tiered('volume', tiers), '10').amount).toBe(4000n);
    expect(rateUsage(tiered('volume', tiers), '11').amount).toBe(3300n);
  });
  it('given flat amounts, then only the reached tier flat fee', () => {
    const t = [tier(5, '0', '1000'), tier(null, '100', '2000')];
    expect(rateUsage(tiered('volume', t), '0').amount).toBe(1000n);
    expect(rateUsage(tiered('volume', t), '5').amount).toBe(1000n);
    expect(rateUsage(tiered('volume', t), '6').amount).toBe(2600n);
  });
  it('given a decimal tier price, then rounded once', () => {
    expect(tieredAmount(3n, 'volume', [tier(null, '0.5')]).toString()).toBe('1.5');
    expect(rateUsage(tiered('volume', [tier(null, '0.5')]), '3').amount).toBe(2n);
  });
});
