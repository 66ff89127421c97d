import { Dec, roundMinor } from '@meterflow/kernel';

/**
 * The pricing terms of a price, as rating needs them. Amounts are decimal strings in minor
 * units (`unit_amount_decimal`, `flat_amount_decimal`), whatever the client sent.
 */
export interface PriceTier {
  /** Inclusive upper bound of the tier; null = infinity (the last tier). */
  up_to: number | null;
  unit_amount_decimal: string | null;
  flat_amount_decimal: string | null;
}

export interface TransformQuantity {
  divide_by: number;
  round: 'up' | 'down';
}

export interface PricingTerms {
  billing_scheme: 'per_unit' | 'tiered';
  unit_amount_decimal: string | null;
  tiers_mode: 'graduated' | 'volume' | null;
  tiers: readonly PriceTier[] | null;
  transform_quantity: TransformQuantity | null;
}

export interface RatedAmount {
  /** Billed quantity: integer, after transform_quantity. */
  quantity: bigint;
  /** The line amount, rounded once, half up, in minor units. */
  amount: bigint;
}

/**
 * Usage (a decimal aggregate) to the quantity a line bills: negative usage bills nothing;
 * transform_quantity divides then rounds up or down; without a transform a fractional
 * aggregate is rounded half up (a line's quantity is an integer).
 */
export function billedQuantity(usage: string, transform: TransformQuantity | null): bigint {
  let q = new Dec(usage);
  if (q.isNegative() || q.isZero()) return 0n;
  if (transform) {
    q = q.div(transform.divide_by);
    q = transform.round === 'up' ? q.ceil() : q.floor();
  } else {
    q = q.toDecimalPlaces(0, Dec.ROUND_HALF_UP);
  }
  return BigInt(q.toFixed(0));
}

/**
 * The quantity an invoice line reports: the usage before `transform_quantity` (stripe-api.md §3;
 * DESIGN "Money": 150 minutes bill 3 hours, the line says 150). A negative aggregate reports 0
 * (stripe-api.md §2 "Value rules"); a fractional one is rounded half up (a line's quantity is an
 * integer; Stripe meter values are whole numbers, so this only matters for hand-made usage).
 */
export function lineQuantity(usage: string): bigint {
  const q = new Dec(usage);
  if (q.isNegative() || q.isZero()) return 0n;
  return BigInt(q.toDecimalPlaces(0, Dec.ROUND_HALF_UP).toFixed(0));
}

const decOrZero = (s: string | null): Dec => new Dec(s ?? '0');

/**
 * Unrounded amount of `quantity` under tiers. Graduated: each slice is priced at its own tier,
 * and every tier the quantity reaches adds its flat amount (the first tier is always reached,
 * so a flat fee there acts as a base fee even at zero usage). Volume: the whole quantity is
 * priced at the tier it falls into, plus that tier's flat amount.
 */
export function tieredAmount(quantity: bigint, mode: 'graduated' | 'volume', tiers: readonly PriceTier[]): Dec {
  const q = new Dec(quantity.toString());
  if (mode === 'volume') {
    const tier = tiers.find((t) => t.up_to === null || q.lte(t.up_to)) ?? tiers[tiers.length - 1];
    if (!tier) return new Dec(0);
    return q.mul(decOrZero(tier.unit_amount_decimal)).add(decOrZero(tier.flat_amount_decimal));
  }
  let total = new Dec(0);
  let lower = new Dec(0); // quantity already priced by previous tiers
  for (const [i, tier] of tiers.entries()) {
    const reached = i === 0 || q.gt(lower);
    if (!reached) break;
    const upper = tier.up_to === null ? q : Dec.min(q, tier.up_to);
    const slice = Dec.max(upper.sub(lower), 0);
    total = total.add(slice.mul(decOrZero(tier.unit_amount_decimal))).add(decOrZero(tier.flat_amount_decimal));
    if (tier.up_to === null) break;
    lower = new Dec(tier.up_to);
  }
  return total;
}

/** Quantity and the exact (unrounded) amount of a line. */
export function rateExact(terms: PricingTerms, usage: string): { quantity: bigint; amount: Dec } {
  const quantity = billedQuantity(usage, terms.billing_scheme === 'tiered' ? null : terms.transform_quantity);
  if (terms.billing_scheme === 'tiered') {
    return { quantity, amount: tieredAmount(quantity, terms.tiers_mode ?? 'graduated', terms.tiers ?? []) };
  }
  return { quantity, amount: decOrZero(terms.unit_amount_decimal).mul(quantity.toString()) };
}

/** Price one line: usage -> quantity -> amount, rounded once, half up. */
export function rateUsage(terms: PricingTerms, usage: string): RatedAmount {
  const { quantity, amount } = rateExact(terms, usage);
  return { quantity, amount: roundMinor(amount) };
}
