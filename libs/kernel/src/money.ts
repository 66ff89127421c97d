import { Decimal } from 'decimal.js';

/**
 * Money is integer minor units plus a currency. Fractional unit prices and quantities are
 * exact decimals; a line is rounded once, half up, to minor units.
 */
export interface Money {
  readonly amount: bigint;
  readonly currency: string;
}

// 40 significant digits is far beyond 12 decimal places on any realistic amount.
export const Dec = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });
export type Dec = Decimal;

const DECIMAL_RE = /^-?\d+(\.\d{1,12})?$/;

/** Parses a Stripe decimal string (at most 12 decimal places). Returns undefined when invalid. */
export function parseDecimal(s: string): Decimal | undefined {
  const t = s.trim();
  if (!DECIMAL_RE.test(t)) return undefined;
  return new Dec(t);
}

/** The one rounding of a line: half up (away from zero on ties) to whole minor units. */
export function roundMinor(d: Decimal): bigint {
  return BigInt(d.toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toFixed(0));
}

/** Decimal as Stripe prints it: plain notation, no exponent, trailing zeros trimmed. */
export function formatDecimal(d: Decimal): string {
  const fixed = d.toFixed();
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

export const money = (amount: bigint | number, currency: string): Money => ({
  amount: BigInt(amount),
  currency: currency.toLowerCase(),
});

export function addMoney(a: Money, b: Money): Money {
  if (a.currency !== b.currency) throw new Error(`currency mismatch: ${a.currency} vs ${b.currency}`);
  return { amount: a.amount + b.amount, currency: a.currency };
}

export const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);
export const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);
