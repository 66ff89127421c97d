import type { RatedLine } from '@meterflow/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MIN_AMOUNT_GTE,
  billedBefore,
  checkBillingThresholds,
  lessBilled,
  netOfThresholds,
  thresholdInvoiceLines,
  thresholdReached,
} from './billing-threshold.js';
import { createPrice, type PriceObject } from './price.js';
import { meteredLine } from './rated-line.js';

const metered = { interval: 'month' as const, usage_type: 'metered' as const, meter: 'mtr_car' };
const perMinute = createPrice({ currency: 'usd', product: 'prod_car', unit_amount: 10, recurring: metered }, 'price_a', 1);
const perHour = createPrice(
  { currency: 'usd', product: 'prod_car', unit_amount: 1000, recurring: metered, transform_quantity: { divide_by: 60, round: 'up' } },
  'price_h',
  1,
);
const graduated = createPrice(
  {
    currency: 'usd',
    product: 'prod_car',
    billing_scheme: 'tiered',
    tiers_mode: 'graduated',
    tiers: [
      { up_to: 100, unit_amount: 20, flat_amount: 300 },
      { up_to: 'inf', unit_amount_decimal: '7.5' },
    ],
    recurring: metered,
  },
  'price_g',
  1,
);

const line = (price: PriceObject, start: number, end: number, usage: number, item = 'si_1'): RatedLine =>
  meteredLine({ subscription_item: item, price, start, end }, String(usage), 'Car rental');

describe('billing thresholds: Stripe refusals (stripe-api.md §4 "Billing thresholds")', () => {
  it(`amount_gte below ${MIN_AMOUNT_GTE} is refused naming billing_thresholds[amount_gte]`, () => {
    expect(() => checkBillingThresholds({ amount_gte: 49, reset_billing_cycle_anchor: false }, 0, 'usd')).toThrow(
      expect.objectContaining({ code: 'parameter_invalid', param: 'billing_thresholds[amount_gte]' }),
    );
    expect(() => checkBillingThresholds({ amount_gte: 50, reset_billing_cycle_anchor: false }, 0, 'usd')).not.toThrow();
  });

  it('amount_gte must exceed what the licensed items cost per period (legacy doc)', () => {
    expect(() => checkBillingThresholds({ amount_gte: 2000, reset_billing_cycle_anchor: false }, 2000, 'usd')).toThrow(
      expect.objectContaining({ param: 'billing_thresholds[amount_gte]' }),
    );
    expect(() => checkBillingThresholds({ amount_gte: 2001, reset_billing_cycle_anchor: false }, 2000, 'usd')).not.toThrow();
  });
});

describe('threshold invoice, then the period-end invoice bills only the rest (issue 8 item 6)', () => {
  const t = { amount_gte: 1000, reset_billing_cycle_anchor: false };

  it('is due once the unbilled usage reaches amount_gte, never at or after the period end', () => {
    expect(thresholdReached(t, [line(perMinute, 0, 50, 99)], 50, 100)).toBe(false); // 9.90
    expect(thresholdReached(t, [line(perMinute, 0, 50, 100)], 50, 100)).toBe(true); // 10.00
    expect(thresholdReached(t, [line(perMinute, 0, 100, 100)], 100, 100)).toBe(false);
    expect(thresholdReached(null, [line(perMinute, 0, 50, 1000)], 50, 100)).toBe(false);
  });

  it('150 minutes at 10.00/hour: the threshold invoice bills 90 minutes (20.00), the period end the other 60 (10.00)', () => {
    const first = thresholdInvoiceLines(netOfThresholds([line(perHour, 0, 40, 90)], []));
    expect(first).toMatchObject([{ quantity: 90, amount: 2000, period: { start: 0, end: 40 } }]);
    const rest = netOfThresholds([line(perHour, 0, 100, 150)], first);
    expect(rest).toMatchObject([{ quantity: 60, amount: 1000, description: '60 × Car rental (per 60)', period: { start: 0, end: 100 } }]);
  });

  it('seed 001: after a classic price change the old-price threshold invoice stands and is not offset', () => {
    const issued = [line(perMinute, 0, 10, 200)]; // Jan 10, price A
    // Jan 16 the item moves to price B; its window restarts at 16.
    const periodEnd = line(perHour, 16, 31, 120);
    expect(billedBefore(issued, periodEnd)).toEqual({ quantity: 0, amount: 0 });
    expect(netOfThresholds([periodEnd], issued)).toEqual([periodEnd]);
  });

  it('threshold lines of another item or an earlier window are not offset', () => {
    const issued = [line(perMinute, 0, 10, 200, 'si_other'), line(perMinute, -30, -5, 200)];
    expect(billedBefore(issued, line(perMinute, 0, 31, 500))).toEqual({ quantity: 0, amount: 0 });
  });

  it('never below zero: usage adjusted down after a threshold invoice leaves a 0 line', () => {
    expect(lessBilled(line(perMinute, 0, 31, 50), { quantity: 80, amount: 800 })).toMatchObject({ quantity: 0, amount: 0 });
  });
});

/** A random timeline of one metered item in one period: usage increments and threshold checks. */
const timeline = fc.record({
  price: fc.constantFrom(perMinute, perHour, graduated),
  amount_gte: fc.integer({ min: MIN_AMOUNT_GTE, max: 5000 }),
  /** [time, usage] in the period [0, 1000); checks happen at random times too. */
  usage: fc.array(fc.tuple(fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 400 })), { maxLength: 30 }),
  checks: fc.array(fc.integer({ min: 1, max: 999 }), { maxLength: 20 }),
});

describe('property: thresholds move money between invoices, never change it (issue 8 "every period billed once")', () => {
  it('threshold invoices + the period-end invoice = what one period-end invoice would have billed', () => {
    fc.assert(
      fc.property(timeline, ({ price, amount_gte, usage, checks }) => {
        const usageBy = (end: number) => usage.filter(([at]) => at < end).reduce((s, [, v]) => s + v, 0);
        const issued: RatedLine[] = [];
        for (const at of [...checks].sort((a, b) => a - b)) {
          const net = netOfThresholds([line(price, 0, at, usageBy(at))], issued);
          if (thresholdReached({ amount_gte, reset_billing_cycle_anchor: false }, net, at, 1000))
            issued.push(...thresholdInvoiceLines(net));
        }
        const whole = line(price, 0, 1000, usageBy(1000));
        const [rest] = netOfThresholds([whole], issued);
        const billed = [...issued, rest!];
        expect(billed.reduce((s, l) => s + l.amount, 0)).toBe(whole.amount);
        expect(billed.reduce((s, l) => s + l.quantity, 0)).toBe(whole.quantity);
        // each threshold invoice reached the threshold when it was issued
        for (const l of issued) expect(l.amount).toBeGreaterThanOrEqual(amount_gte);
      }),
      { numRuns: 300 },
    );
  });
});
