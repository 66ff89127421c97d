import { z } from 'zod';
import { Dec, roundMinor } from '@meterflow/kernel';
import { Currency, DecimalString, MinorUnits, UnixSeconds } from './internal-ops.js';

/*
 * Every cent explained (issue 8 item 10): `GET /meterflow/v1/invoices/:id/explanation`, outside
 * Stripe's namespace. invoicing assembles it from its invoice, rating's explanation of each line
 * (`billing.explain_lines`: meter, usage window, event count and aggregate from meter-ingestion,
 * the transform and tier steps) and the ledger's of each credit (`credits.explain`: the grant, why
 * it came in that order, the ledger entry). `rerate` re-rates a line from its pricing terms and a
 * usage: the e2e suite replays it over every invoice it creates (docs/invoicing.md).
 */

const Id = z.string().min(1);
const Period = z.object({ start: UnixSeconds, end: UnixSeconds });

/** A price's terms as rating prices them (decimal strings in minor units). */
export const PricingTermsDoc = z.object({
  billing_scheme: z.enum(['per_unit', 'tiered']),
  unit_amount_decimal: DecimalString.nullable(),
  tiers_mode: z.enum(['graduated', 'volume']).nullable(),
  tiers: z
    .array(
      z.object({
        up_to: z.number().int().nullable(),
        unit_amount_decimal: DecimalString.nullable(),
        flat_amount_decimal: DecimalString.nullable(),
      }),
    )
    .nullable(),
  transform_quantity: z.object({ divide_by: z.number().int().positive(), round: z.enum(['up', 'down']) }).nullable(),
});
export type PricingTermsDoc = z.infer<typeof PricingTermsDoc>;

/** One priced slice of a line: `quantity × unit_amount_decimal + flat_amount_decimal = amount_decimal` (exact). */
export const RatingStep = z.object({
  description: z.string(),
  /** Index of the tier this step prices; null for a per-unit price. */
  tier: z.number().int().nullable(),
  quantity: DecimalString,
  unit_amount_decimal: DecimalString,
  flat_amount_decimal: DecimalString,
  amount_decimal: DecimalString,
});
export type RatingStep = z.infer<typeof RatingStep>;

/** How a quantity became a line amount: transform, steps, the one rounding, any proration. */
export const RatingExplanation = z.object({
  /** The quantity rated: the usage aggregate (metered) or the item's quantity (licensed). */
  input_quantity: DecimalString,
  /** `transform_quantity`: input ÷ divide_by, rounded up or down. */
  transform: z
    .object({ divide_by: z.number().int(), round: z.enum(['up', 'down']), exact: DecimalString, billed_quantity: z.number().int() })
    .nullable(),
  /** The integer quantity the steps price. */
  billed_quantity: z.number().int(),
  steps: z.array(RatingStep),
  /** Sum of the steps, before rounding (minor units). */
  exact_amount_decimal: DecimalString,
  /** Rounded once, half up. */
  amount: MinorUnits,
  /**
   * A licensed line for part of a period: the full period's amount and what was billed for the part.
   * For a proration invoice item (issue 8 item 7) whose part rating can tell again, also the full
   * billing `period` and the seconds of it the line bills (`remaining_seconds` of `period_seconds`):
   * `amount` = ± round_half_up(exact amount × remaining / period).
   */
  proration: z
    .object({
      full_amount: MinorUnits,
      amount: MinorUnits,
      period: Period.optional(),
      remaining_seconds: z.number().int().nonnegative().optional(),
      period_seconds: z.number().int().positive().optional(),
    })
    .nullable(),
});
export type RatingExplanation = z.infer<typeof RatingExplanation>;

/**
 * What a line's amount rests on: `usage` (a metered price: the usage of its window), `quantity`
 * (a licensed item's quantity), `placeholder` (a classic creation invoice's 0-amount line for a
 * period whose usage the first cycle invoice bills), `fixed` (an invoice item's own amount).
 */
export const LineBasis = z.enum(['usage', 'quantity', 'placeholder', 'fixed']);
export type LineBasis = z.infer<typeof LineBasis>;

export const UsageExplanation = z.object({
  meter: Id,
  /** The meter's aggregation formula. */
  formula: z.enum(['sum', 'count', 'last']),
  /** The usage window [start, end) the line was rated on: the line's period. */
  window: Period,
  /** The aggregate the line was rated on: its `quantity`. */
  rated_aggregate: DecimalString,
  /** The event store now: the window's aggregate and how many events it holds. */
  event_store: z.object({ aggregate: DecimalString, events: z.number().int().nonnegative() }),
});
export type UsageExplanation = z.infer<typeof UsageExplanation>;

/**
 * A usage line after threshold invoices (issue 8 item 6): its window's usage is rated as a whole
 * and the line bills that less what the period's threshold invoices already billed of the same
 * item, price and window (never below zero).
 */
export const ThresholdOffset = z.object({ quantity: z.number().int(), amount: MinorUnits });
export type ThresholdOffset = z.infer<typeof ThresholdOffset>;

export const LineExplanation = z.object({
  line: Id,
  type: z.enum(['subscription_item_details', 'invoice_item_details']),
  description: z.string().nullable(),
  price: Id.nullable(),
  product: Id.nullable(),
  subscription_item: Id.nullable(),
  invoice_item: Id.nullable(),
  period: Period,
  quantity: z.number().int().nullable(),
  amount: MinorUnits,
  basis: LineBasis,
  pricing: PricingTermsDoc.nullable(),
  usage: UsageExplanation.nullable(),
  rating: RatingExplanation.nullable(),
  /** The line rated again now (usage from the event store); null when Meterflow did not rate it (fixed, placeholder, prorated). */
  rerated_amount: MinorUnits.nullable(),
  /** What threshold invoices already billed of this line's window (`rating` rates the whole window); absent or null: none. */
  threshold_offset: ThresholdOffset.nullable().optional(),
});
export type LineExplanation = z.infer<typeof LineExplanation>;

/** Stripe's order keys for grants, in the order they are compared (credit-ledger's `compareGrants`). */
export const GrantOrderKey = z.enum(['priority', 'expires_at', 'category', 'effective_at', 'created', 'id']);
export type GrantOrderKey = z.infer<typeof GrantOrderKey>;

export const CreditExplanation = z.object({
  line: Id,
  amount: MinorUnits,
  credit_grant: Id,
  credit_balance_transaction: Id,
  grant: z.object({
    id: Id,
    name: z.string().nullable(),
    category: z.enum(['paid', 'promotional']),
    priority: z.number().int(),
    expires_at: UnixSeconds.nullable(),
    effective_at: UnixSeconds,
    created: UnixSeconds,
    applies_to: z.object({ price_type: z.literal('metered').nullable(), prices: z.array(Id).nullable() }),
  }),
  order: z.object({
    /** 1 = drawn first among the grants this invoice drew on. */
    rank: z.number().int().positive(),
    /** The first key on which this grant comes before the next one (null: the last). */
    before_next_by: GrantOrderKey.nullable(),
    reason: z.string(),
  }),
  /** The ledger's debit (a Stripe `billing.credit_balance_transaction`). */
  ledger_entry: z.record(z.string(), z.unknown()),
  /** The credit that gave it back when the invoice was voided. */
  reinstated_by: Id.nullable(),
});
export type CreditExplanation = z.infer<typeof CreditExplanation>;

export const InvoiceExplanation = z.object({
  object: z.literal('invoice_explanation'),
  invoice: Id,
  status: z.enum(['draft', 'open', 'paid', 'uncollectible', 'void']),
  billing_reason: z.string(),
  currency: Currency,
  customer: Id,
  subscription: Id.nullable(),
  period: Period,
  subtotal: MinorUnits,
  /** Sum of the credits: the invoice's `total_pretax_credit_amounts`. */
  total_credits: MinorUnits,
  total: MinorUnits,
  lines: z.array(LineExplanation),
  credits: z.array(CreditExplanation),
  /** When the ledger applied the credits (null: none applied yet, a draft). */
  credits_applied_at: UnixSeconds.nullable(),
  /** The rule grants are drawn in, in words. */
  credit_order: z.string(),
});
export type InvoiceExplanation = z.infer<typeof InvoiceExplanation>;

// ---- internal ops ---------------------------------------------------------------------------

/** `billing.explain_lines` (rating): how each line of an invoice was rated. */
export const ExplainLinesRequest = z.object({
  customer: Id,
  lines: z.array(
    z.object({
      key: z.string(),
      price: Id,
      /** The line's subscription and item: a usage line bills net of the period's threshold invoices (issue 8 item 6). */
      subscription: Id.nullable().optional(),
      subscription_item: Id.nullable().optional(),
      basis: z.enum(['usage', 'quantity']),
      /** A proration invoice item (issue 8 item 7): rating tells the part of the period it bills. */
      proration: z.boolean().optional(),
      period: Period,
      quantity: z.number().int().nullable(),
      amount: MinorUnits,
    }),
  ),
});
export type ExplainLinesRequest = z.infer<typeof ExplainLinesRequest>;
export const ExplainLinesReply = z.object({
  results: z.record(
    z.string(),
    z.object({
      pricing: PricingTermsDoc.nullable(),
      usage: UsageExplanation.nullable(),
      rating: RatingExplanation.nullable(),
      rerated_amount: MinorUnits.nullable(),
      threshold_offset: ThresholdOffset.nullable().optional(),
    }),
  ),
});
export type ExplainLinesReply = z.infer<typeof ExplainLinesReply>;

/** `credits.explain` (credit-ledger): the credits an invoice drew, with their grants and order. */
export const ExplainCreditsRequest = z.object({ invoice: Id });
export type ExplainCreditsRequest = z.infer<typeof ExplainCreditsRequest>;
export const ExplainCreditsReply = z.object({ applied_at: UnixSeconds.nullable(), credits: z.array(CreditExplanation) });
export type ExplainCreditsReply = z.infer<typeof ExplainCreditsReply>;

export const EXPLANATION_OPS = { explainLines: 'billing.explain_lines', explainCredits: 'credits.explain' } as const;

// ---- re-rating ------------------------------------------------------------------------------

const dec = (s: string | null): Dec => new Dec(s ?? '0');

/**
 * Re-rate a quantity under pricing terms, to minor units: Stripe's documented rules written
 * again here on purpose, independently of rating's code, so that replaying an explanation checks
 * rating's arithmetic instead of repeating it. Negative usage bills nothing; `transform_quantity`
 * divides then rounds up or down (a fraction without it rounds half up); graduated tiers price
 * each slice at its tier and add the flat amount of every tier reached (the first always is),
 * volume prices all of it at the tier it falls in; the line is rounded once, half up.
 */
export function rerate(pricing: PricingTermsDoc, quantity: string): number {
  let q = Dec.max(new Dec(quantity), 0);
  const t = pricing.billing_scheme === 'per_unit' ? pricing.transform_quantity : null;
  q = t ? (t.round === 'up' ? q.div(t.divide_by).ceil() : q.div(t.divide_by).floor()) : q.toDecimalPlaces(0, Dec.ROUND_HALF_UP);
  if (pricing.billing_scheme === 'per_unit') return Number(roundMinor(q.mul(dec(pricing.unit_amount_decimal))));
  const tiers = pricing.tiers ?? [];
  if (pricing.tiers_mode === 'volume') {
    const tier = tiers.find((x) => x.up_to === null || q.lte(x.up_to)) ?? tiers.at(-1);
    return tier ? Number(roundMinor(q.mul(dec(tier.unit_amount_decimal)).add(dec(tier.flat_amount_decimal)))) : 0;
  }
  let sum = new Dec(0);
  let from = 0;
  for (const [i, tier] of tiers.entries()) {
    if (i > 0 && q.lte(from)) break;
    const to = tier.up_to === null ? q : Dec.min(q, tier.up_to);
    sum = sum.add(Dec.max(to.sub(from), 0).mul(dec(tier.unit_amount_decimal))).add(dec(tier.flat_amount_decimal));
    if (tier.up_to === null) break;
    from = tier.up_to;
  }
  return Number(roundMinor(sum));
}

/**
 * A line's explanation replayed: the usage the event store holds now (or the licensed quantity)
 * re-rated under the line's pricing terms. `null` when Meterflow did not rate the amount
 * (`fixed`, `placeholder`) or prorated it (the part of the period is rating's, see `proration`).
 */
export function rerateLine(
  line: Pick<LineExplanation, 'basis' | 'pricing' | 'usage' | 'rating' | 'quantity' | 'threshold_offset'>,
): number | null {
  if (!line.pricing) return null;
  if (line.basis === 'usage')
    return line.usage ? Math.max(0, rerate(line.pricing, line.usage.event_store.aggregate) - (line.threshold_offset?.amount ?? 0)) : null;
  if (line.basis === 'quantity' && !line.rating?.proration) return rerate(line.pricing, String(line.quantity ?? 1));
  return null;
}

/**
 * A proration's part replayed: its full period's exact amount × remaining / period seconds,
 * rounded once half up, negated for a credit (reference §4 "Proration"; rating's proration.ts
 * computes it the same way). `null` when the explanation does not say the part.
 */
export function reprorateLine(line: Pick<LineExplanation, 'rating'>): number | null {
  const p = line.rating?.proration;
  if (!p || p.remaining_seconds === undefined || p.period_seconds === undefined) return null;
  const part = Number(roundMinor(new Dec(line.rating!.exact_amount_decimal).mul(new Dec(p.remaining_seconds).div(p.period_seconds))));
  return p.amount < 0 ? -part : part;
}

/** The steps of a rating add up to its exact amount, and that rounds to its amount. */
export function stepsAddUp(r: RatingExplanation): boolean {
  const sum = r.steps.reduce((s, x) => s.add(x.amount_decimal), new Dec(0));
  return sum.eq(r.exact_amount_decimal) && Number(roundMinor(sum)) === r.amount;
}
