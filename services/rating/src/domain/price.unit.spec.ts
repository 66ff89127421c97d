import { describe, expect, it } from 'vitest';
import { createPrice, pricingTerms, type PriceInput } from './price.js';
import { rateUsage } from './rating.math.js';

const base: PriceInput = { currency: 'USD', product: 'prod_1' };
const metered = { interval: 'month' as const, usage_type: 'metered' as const, meter: 'mtr_123' };

describe('price creation', () => {
  it('given the car rental price, then a metered monthly price rating 150 minutes to 3000', () => {
    const p = createPrice(
      { ...base, unit_amount: 1000, recurring: metered, transform_quantity: { divide_by: 60, round: 'up' } },
      'price_1',
      100,
    );
    expect(p).toMatchObject({
      currency: 'usd',
      unit_amount: 1000,
      unit_amount_decimal: '1000',
      type: 'recurring',
      recurring: { interval: 'month', interval_count: 1, usage_type: 'metered', meter: 'mtr_123' },
      transform_quantity: { divide_by: 60, round: 'up' },
    });
    expect(rateUsage(pricingTerms(p), '150')).toEqual({ quantity: 3n, amount: 3000n });
  });
  it('given a non-integral decimal, then unit_amount is null and the decimal is a trimmed string', () => {
    const p = createPrice({ ...base, unit_amount_decimal: '0.50' }, 'price_1', 1);
    expect(p.unit_amount).toBeNull();
    expect(p.unit_amount_decimal).toBe('0.5');
  });
  it('given an integral decimal, then unit_amount is populated too', () => {
    expect(createPrice({ ...base, unit_amount_decimal: '250.000' }, 'p', 1)).toMatchObject({
      unit_amount: 250,
      unit_amount_decimal: '250',
    });
  });
  it('refuses more than 12 decimal places', () => {
    expect(() => createPrice({ ...base, unit_amount_decimal: '0.1234567890123' }, 'p', 1)).toThrow(/12 decimal places/);
  });
  it('refuses unit_amount and unit_amount_decimal together', () => {
    expect(() => createPrice({ ...base, unit_amount: 1, unit_amount_decimal: '1' }, 'p', 1)).toThrow(/only specify one/);
  });
  it('refuses transform_quantity with tiers, naming the param', () => {
    try {
      createPrice(
        {
          ...base,
          billing_scheme: 'tiered',
          tiers_mode: 'graduated',
          tiers: [{ up_to: 'inf', unit_amount: 1 }],
          transform_quantity: { divide_by: 2, round: 'up' },
        },
        'p',
        1,
      );
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ status: 400, param: 'transform_quantity', type: 'invalid_request_error' });
    }
  });
  it('refuses a metered price without a meter', () => {
    expect(() => createPrice({ ...base, unit_amount: 1, recurring: { interval: 'month', usage_type: 'metered' } }, 'p', 1)).toThrow(
      /meter/,
    );
  });
  it('refuses a malformed meter id', () => {
    expect(() => createPrice({ ...base, unit_amount: 1, recurring: { ...metered, meter: 'nope' } }, 'p', 1)).toThrow(/No such meter/);
  });
  it('requires an amount for per_unit prices', () => {
    expect(() => createPrice(base, 'p', 1)).toThrow(/unit_amount/);
  });
  it('refuses an interval longer than three years', () => {
    expect(() => createPrice({ ...base, unit_amount: 1, recurring: { interval: 'month', interval_count: 37 } }, 'p', 1)).toThrow(/3 years/);
  });
  it('given tiers, then validates order and inf, and prints decimals', () => {
    const p = createPrice(
      {
        ...base,
        billing_scheme: 'tiered',
        tiers_mode: 'volume',
        tiers: [
          { up_to: 10, unit_amount_decimal: '1.5', flat_amount: 100 },
          { up_to: 'inf', unit_amount: 1 },
        ],
      },
      'p',
      1,
    );
    expect(p.tiers).toEqual([
      { up_to: 10, unit_amount: null, unit_amount_decimal: '1.5', flat_amount: 100, flat_amount_decimal: '100' },
      { up_to: null, unit_amount: 1, unit_amount_decimal: '1', flat_amount: null, flat_amount_decimal: null },
    ]);
    expect(p.unit_amount).toBeNull();
    expect(rateUsage(pricingTerms(p), '10').amount).toBe(115n);
  });
  it('refuses tiers whose last up_to is not inf, or that are not increasing', () => {
    const t = (tiers: NonNullable<PriceInput['tiers']>) =>
      createPrice({ ...base, billing_scheme: 'tiered', tiers_mode: 'graduated', tiers }, 'p', 1);
    expect(() => t([{ up_to: 10, unit_amount: 1 }])).toThrow(/last tier/);
    expect(() =>
      t([
        { up_to: 10, unit_amount: 1 },
        { up_to: 5, unit_amount: 1 },
        { up_to: 'inf', unit_amount: 1 },
      ]),
    ).toThrow(/greater/);
    expect(() =>
      t([
        { up_to: 'inf', unit_amount: 1 },
        { up_to: 'inf', unit_amount: 1 },
      ]),
    ).toThrow(/Only the last/);
  });
  it('requires tiers_mode for tiered prices', () => {
    expect(() => createPrice({ ...base, billing_scheme: 'tiered', tiers: [{ up_to: 'inf', unit_amount: 1 }] }, 'p', 1)).toThrow(
      /tiers_mode/,
    );
  });
  it('refuses a currency that is not a three-letter code (the price event contract needs one)', () => {
    expect(() => createPrice({ ...base, currency: 'dollars', unit_amount: 1 }, 'price_x', 1)).toThrow(/Invalid currency: dollars/);
    expect(createPrice({ ...base, currency: 'EUR', unit_amount: 1 }, 'price_x', 1).currency).toBe('eur');
  });
});
