import type { PricingTermsDoc, RatingExplanation, RatingStep } from '@meterflow/contracts';
import { Dec, formatDecimal, roundMinor } from '@meterflow/kernel';
import { periodContaining } from './billing-period.js';
import { billedQuantity, rateExact, type PricingTerms } from './rating.math.js';
import type { SubscriptionState } from './subscription.types.js';

/*
 * How rating turned a quantity into a line amount, step by step (issue 8 item 10, "the transform
 * or tier steps with their amounts"). The amount is rating's own (`rateExact`, rating.math.ts);
 * the steps break it down the way rating.math.ts prices it: per unit, or one step per tier
 * reached (graduated: each slice at its tier plus the flat amount of every tier reached, the
 * first always; volume: all of it at the tier it falls in). Their sum is the exact amount (unit
 * spec, property-based).
 */

const d = (s: string | null): Dec => new Dec(s ?? '0');
const fmt = (x: Dec): string => formatDecimal(x);

function step(description: string, tier: number | null, quantity: Dec, unit: Dec, flat: Dec): RatingStep {
  return {
    description,
    tier,
    quantity: fmt(quantity),
    unit_amount_decimal: fmt(unit),
    flat_amount_decimal: fmt(flat),
    amount_decimal: fmt(quantity.mul(unit).add(flat)),
  };
}

function tierSteps(quantity: bigint, terms: PricingTerms): RatingStep[] {
  const q = new Dec(quantity.toString());
  const tiers = terms.tiers ?? [];
  const bound = (up: number | null): string => (up === null ? '∞' : String(up));
  if ((terms.tiers_mode ?? 'graduated') === 'volume') {
    const i = tiers.findIndex((t) => t.up_to === null || q.lte(t.up_to));
    const at = i >= 0 ? i : tiers.length - 1;
    const tier = tiers[at];
    if (!tier) return [];
    return [
      step(
        `volume: all ${q} at tier ${at + 1} (up to ${bound(tier.up_to)})`,
        at,
        q,
        d(tier.unit_amount_decimal),
        d(tier.flat_amount_decimal),
      ),
    ];
  }
  const out: RatingStep[] = [];
  let lower = new Dec(0);
  for (const [i, tier] of tiers.entries()) {
    if (i > 0 && !q.gt(lower)) break;
    const upper = tier.up_to === null ? q : Dec.min(q, tier.up_to);
    const slice = Dec.max(upper.sub(lower), 0);
    out.push(
      step(
        `graduated tier ${i + 1} (${lower.plus(1)} to ${bound(tier.up_to)}): ${slice} units`,
        i,
        slice,
        d(tier.unit_amount_decimal),
        d(tier.flat_amount_decimal),
      ),
    );
    if (tier.up_to === null) break;
    lower = new Dec(tier.up_to);
  }
  return out;
}

/** `quantity` (a usage aggregate or an item's quantity) rated under `terms`, with its steps. */
export function explainRating(terms: PricingTerms, quantity: string): RatingExplanation {
  const { quantity: billed, amount } = rateExact(terms, quantity);
  const t = terms.billing_scheme === 'per_unit' ? terms.transform_quantity : null;
  const steps =
    terms.billing_scheme === 'tiered'
      ? tierSteps(billed, terms)
      : [
          step(
            `${billed} × ${terms.unit_amount_decimal ?? '0'}`,
            null,
            new Dec(billed.toString()),
            d(terms.unit_amount_decimal),
            new Dec(0),
          ),
        ];
  return {
    input_quantity: fmt(new Dec(quantity)),
    transform: t
      ? {
          divide_by: t.divide_by,
          round: t.round,
          exact: fmt(Dec.max(new Dec(quantity), 0).div(t.divide_by)),
          billed_quantity: Number(billedQuantity(quantity, t)),
        }
      : null,
    billed_quantity: Number(billed),
    steps,
    exact_amount_decimal: fmt(amount),
    amount: Number(roundMinor(amount)),
    proration: null,
  };
}

/**
 * A licensed line: its quantity rated for a whole period; when the line bills less or more (a
 * part of a period, prorated by time by the subscription decider), the proration says so.
 */
export function explainLicensed(terms: PricingTerms, quantity: number | null, lineAmount: number): RatingExplanation {
  const r = explainRating(terms, String(quantity ?? 1));
  return r.amount === lineAmount ? r : { ...r, proration: { full_amount: r.amount, amount: lineAmount } };
}

/**
 * The part of its full billing period a proration invoice item bills (issue 8 item 7), told again
 * as subscription.prorations.ts computed it: [at, end) of the full period containing `at`
 * (`fullPeriodAt`: the period the subscription's anchor and recurrence give, from the item's
 * `at` at the latest). null when it cannot be told again from the subscription as it is now: a
 * flexible credit (it credits back what a debit charged, not price × quantity), or a period the
 * anchor no longer gives (reset since).
 */
export function prorationPart(
  s: Pick<SubscriptionState, 'billing_cycle_anchor' | 'recurrence' | 'billing_mode'>,
  line: { period: { start: number; end: number }; amount: number },
): { period: { start: number; end: number }; remaining_seconds: number; period_seconds: number } | null {
  if (s.billing_mode.type === 'flexible' && line.amount < 0) return null;
  const full = periodContaining(s.billing_cycle_anchor, s.recurrence, line.period.end - 1);
  if (full.end !== line.period.end || line.period.start < full.start) return null;
  return {
    period: full,
    remaining_seconds: line.period.end - line.period.start,
    period_seconds: full.end - full.start,
  };
}

/** A proration invoice item: `explainLicensed` with the part of the period it bills, when rating can tell it. */
export function explainProration(
  terms: PricingTerms,
  quantity: number | null,
  lineAmount: number,
  part: ReturnType<typeof prorationPart>,
): RatingExplanation {
  const r = explainLicensed(terms, quantity, lineAmount);
  const proration = r.proration ?? { full_amount: r.amount, amount: lineAmount };
  return { ...r, proration: part ? { ...proration, ...part } : proration };
}

/** A price's terms as the explanation prints them. */
export const pricingDoc = (t: PricingTerms): PricingTermsDoc => ({
  billing_scheme: t.billing_scheme,
  unit_amount_decimal: t.unit_amount_decimal,
  tiers_mode: t.tiers_mode,
  tiers: t.tiers ? t.tiers.map((x) => ({ ...x })) : null,
  transform_quantity: t.transform_quantity,
});
