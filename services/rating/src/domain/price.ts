import type { PriceDocument, PriceTierDocument } from '@meterflow/contracts';
import { DomainError, formatDecimal, invalid, missing, parseDecimal } from '@meterflow/kernel';
import { maxIntervalCount, type Interval } from './billing-period.js';
import type { PricingTerms } from './rating.math.js';

/** A price as Stripe prints it (the state of a price stream is exactly this object; schema in contracts). */
export type PriceObject = PriceDocument;
export type TierObject = PriceTierDocument;

/** Create parameters after form decoding and type parsing; business rules are checked here. */
export interface PriceInput {
  currency: string;
  product: string;
  active?: boolean;
  billing_scheme?: 'per_unit' | 'tiered';
  unit_amount?: number;
  unit_amount_decimal?: string;
  recurring?: {
    interval: Interval;
    interval_count?: number;
    usage_type?: 'licensed' | 'metered';
    meter?: string;
    trial_period_days?: number;
  };
  tiers_mode?: 'graduated' | 'volume';
  tiers?: {
    up_to: number | 'inf';
    unit_amount?: number;
    unit_amount_decimal?: string;
    flat_amount?: number;
    flat_amount_decimal?: string;
  }[];
  transform_quantity?: { divide_by: number; round: 'up' | 'down' };
  lookup_key?: string;
  nickname?: string;
  metadata?: Record<string, string>;
  tax_behavior?: 'exclusive' | 'inclusive' | 'unspecified';
}

const METER_ID = /^mtr_[A-Za-z0-9_]+$/;

/** An amount given either as integer minor units or as a decimal string; never both. */
function amountPair(
  intVal: number | undefined,
  decVal: string | undefined,
  intParam: string,
  decParam: string,
): { int: number | null; dec: string | null } | undefined {
  if (intVal !== undefined && decVal !== undefined)
    throw invalid(intParam, `You may only specify one of these parameters: ${intParam}, ${decParam}.`);
  if (intVal !== undefined) {
    if (!Number.isSafeInteger(intVal) || intVal < 0) throw invalid(intParam, `Invalid non-negative integer`, 'parameter_invalid_integer');
    return { int: intVal, dec: String(intVal) };
  }
  if (decVal !== undefined) {
    const d = parseDecimal(decVal);
    if (!d || d.isNegative())
      throw invalid(decParam, `Invalid decimal: ${decVal}. Must be a non-negative decimal with at most 12 decimal places.`);
    // An integral decimal populates the integer field too; otherwise it stays null.
    return { int: d.isInteger() ? d.toNumber() : null, dec: formatDecimal(d) };
  }
  return undefined;
}

export function createPrice(input: PriceInput, id: string, created: number): PriceObject {
  if (!/^[a-z]{3}$/i.test(input.currency))
    throw invalid('currency', `Invalid currency: ${input.currency}. It must be a three-letter ISO code.`);
  const scheme = input.billing_scheme ?? 'per_unit';
  const recurring = input.recurring
    ? (() => {
        const r = input.recurring;
        const count = r.interval_count ?? 1;
        if (!Number.isInteger(count) || count < 1 || count > maxIntervalCount(r.interval))
          throw invalid('recurring[interval_count]', 'The maximum billing interval is 3 years (36 months, 156 weeks, or 1095 days).');
        const usage = r.usage_type ?? 'licensed';
        if (usage === 'metered' && !r.meter)
          throw new DomainError('parameter_missing', 'Metered prices must be backed by a meter. Please provide `recurring[meter]`.', {
            param: 'recurring[meter]',
          });
        if (r.meter !== undefined && usage !== 'metered')
          throw invalid('recurring[meter]', '`recurring[meter]` can only be set when `recurring[usage_type]` is `metered`.');
        if (r.meter !== undefined && !METER_ID.test(r.meter)) throw invalid('recurring[meter]', `No such meter: '${r.meter}'`);
        return {
          interval: r.interval,
          interval_count: count,
          meter: r.meter ?? null,
          trial_period_days: r.trial_period_days ?? null,
          usage_type: usage,
        };
      })()
    : null;

  if (input.transform_quantity) {
    if (scheme === 'tiered' || input.tiers)
      throw invalid('transform_quantity', 'You cannot use `transform_quantity` with `billing_scheme=tiered`.');
    const t = input.transform_quantity;
    if (!Number.isSafeInteger(t.divide_by) || t.divide_by < 1)
      throw invalid('transform_quantity[divide_by]', 'transform_quantity[divide_by] must be a positive integer.');
  }

  let unit: { int: number | null; dec: string | null } = { int: null, dec: null };
  let tiers: TierObject[] | undefined;
  let tiersMode: PriceObject['tiers_mode'] = null;
  if (scheme === 'per_unit') {
    if (input.tiers) throw invalid('tiers', 'Tiers can only be used with `billing_scheme=tiered`.');
    if (input.tiers_mode) throw invalid('tiers_mode', '`tiers_mode` can only be used with `billing_scheme=tiered`.');
    const u = amountPair(input.unit_amount, input.unit_amount_decimal, 'unit_amount', 'unit_amount_decimal');
    if (!u) throw missing('unit_amount');
    unit = u;
  } else {
    if (input.unit_amount !== undefined || input.unit_amount_decimal !== undefined)
      throw invalid('unit_amount', '`unit_amount` cannot be used with `billing_scheme=tiered`; set amounts on `tiers`.');
    if (!input.tiers_mode) throw missing('tiers_mode');
    if (!input.tiers || input.tiers.length === 0) throw missing('tiers');
    tiersMode = input.tiers_mode;
    let previous = 0;
    tiers = input.tiers.map((t, i) => {
      const last = i === input.tiers!.length - 1;
      if (t.up_to === 'inf') {
        if (!last) throw invalid(`tiers[${i}][up_to]`, 'Only the last tier may have `up_to=inf`.');
      } else {
        if (last) throw invalid(`tiers[${i}][up_to]`, 'The last tier must have `up_to=inf`.');
        if (!Number.isSafeInteger(t.up_to) || t.up_to <= previous)
          throw invalid(`tiers[${i}][up_to]`, '`up_to` must be a positive integer greater than the previous tier.');
        previous = t.up_to;
      }
      const u = amountPair(t.unit_amount, t.unit_amount_decimal, `tiers[${i}][unit_amount]`, `tiers[${i}][unit_amount_decimal]`);
      const f = amountPair(t.flat_amount, t.flat_amount_decimal, `tiers[${i}][flat_amount]`, `tiers[${i}][flat_amount_decimal]`);
      if (!u && !f) throw missing(`tiers[${i}][unit_amount]`);
      return {
        flat_amount: f?.int ?? null,
        flat_amount_decimal: f?.dec ?? null,
        unit_amount: u?.int ?? null,
        unit_amount_decimal: u?.dec ?? null,
        up_to: t.up_to === 'inf' ? null : t.up_to,
      };
    });
  }

  return {
    id,
    object: 'price',
    active: input.active ?? true,
    billing_scheme: scheme,
    created,
    currency: input.currency.toLowerCase(),
    custom_unit_amount: null,
    livemode: false,
    lookup_key: input.lookup_key ?? null,
    metadata: input.metadata ?? {},
    nickname: input.nickname ?? null,
    product: input.product,
    recurring,
    tax_behavior: input.tax_behavior ?? 'unspecified',
    ...(tiers ? { tiers } : {}),
    tiers_mode: tiersMode,
    transform_quantity: input.transform_quantity ?? null,
    type: recurring ? 'recurring' : 'one_time',
    unit_amount: unit.int,
    unit_amount_decimal: unit.dec,
  };
}

/** What rating needs from a price object. */
export function pricingTerms(p: PriceObject): PricingTerms {
  return {
    billing_scheme: p.billing_scheme,
    unit_amount_decimal: p.unit_amount_decimal,
    tiers_mode: p.tiers_mode,
    tiers:
      p.tiers?.map((t) => ({ up_to: t.up_to, unit_amount_decimal: t.unit_amount_decimal, flat_amount_decimal: t.flat_amount_decimal })) ??
      null,
    transform_quantity: p.transform_quantity,
  };
}

export const isMetered = (p: PriceObject): boolean => p.recurring?.usage_type === 'metered';
