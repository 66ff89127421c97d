import { describe, expect, it } from 'vitest';
import { decimalMinor, fromLocalInput, money, when } from './format.js';
import { periodsOf } from './usage.js';

describe('console formatting', () => {
  it('prints integer minor units exactly, with the currency', () => {
    expect(money(3000, 'usd')).toBe('30.00 USD');
    expect(money(-1000, 'usd')).toBe('-10.00 USD');
    expect(money(5, 'eur')).toBe('0.05 EUR');
    expect(money(123456789, 'usd')).toBe('1,234,567.89 USD');
    expect(money(500, 'jpy')).toBe('500 JPY');
    expect(money(null, 'usd')).toBe('—');
  });

  it('prints decimal unit amounts (minor units as strings) as major units', () => {
    expect(decimalMinor('1000', 'usd')).toBe('10.00 USD');
    expect(decimalMinor('0.5', 'usd')).toBe('0.005 USD');
    expect(decimalMinor('12.25', 'usd')).toBe('0.1225 USD');
    expect(decimalMinor('7', 'jpy')).toBe('7 JPY');
  });

  it('reads and prints times in UTC', () => {
    expect(when(Date.UTC(2026, 1, 1, 2) / 1000)).toBe('2026-02-01 02:00 UTC');
    expect(fromLocalInput('2026-02-01T02:00')).toBe(Date.UTC(2026, 1, 1, 2) / 1000);
  });

  it('lists the current billing period and the past ones since the subscription began', () => {
    const jan = Date.UTC(2026, 0, 1) / 1000;
    const feb = Date.UTC(2026, 1, 1) / 1000;
    const mar = Date.UTC(2026, 2, 1) / 1000;
    expect(periodsOf({ current_period_start: feb, current_period_end: mar }, 'month', 1, jan)).toEqual([
      { start: jan, end: feb },
      { start: feb, end: mar },
    ]);
  });
});
