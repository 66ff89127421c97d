import type { RatedLine } from '@meterflow/contracts';
import { Dec, roundMinor } from '@meterflow/kernel';
import { pricingTerms, type PriceObject } from './price.js';
import { lineQuantity, rateExact, rateUsage } from './rating.math.js';

/** ` (per 60)` when the price bills packages of `divide_by` units: the line's quantity is in units. */
const per = (p: PriceObject): string => (p.transform_quantity ? ` (per ${p.transform_quantity.divide_by})` : '');

/**
 * The line of a metered item: usage over [start, end), billed in arrears. The amount is rated on
 * the transformed quantity; the line's `quantity` is the usage before the transform (150 minutes
 * billed as 3 hours say 150; stripe-api.md §3, issue 8 item 4).
 */
export function meteredLine(
  w: { subscription_item: string; price: PriceObject; start: number; end: number },
  usage: string,
  productName: string,
): RatedLine {
  const { amount } = rateUsage(pricingTerms(w.price), usage);
  const quantity = lineQuantity(usage);
  return {
    subscription_item: w.subscription_item,
    price: w.price.id,
    product: w.price.product,
    meter: w.price.recurring?.meter ?? null,
    quantity: Number(quantity),
    amount: Number(amount),
    currency: w.price.currency,
    unit_amount_decimal: w.price.billing_scheme === 'per_unit' ? w.price.unit_amount_decimal : null,
    description: w.price.billing_scheme === 'tiered' ? `${productName} (tiered)` : `${quantity} × ${productName}${per(w.price)}`,
    period: { start: w.start, end: w.end },
  };
}

/**
 * The line of a licensed item, billed in advance for [start, end). `fraction` < 1 prorates a
 * partial period (by time); the line is still rounded once. As for metered lines, `quantity` is
 * the item's quantity, before any `transform_quantity` (issue 8 item 4).
 */
export function licensedLine(
  item: { id: string; price: PriceObject; quantity: number | null },
  start: number,
  end: number,
  productName: string,
  fraction: Dec = new Dec(1),
): RatedLine {
  const { amount } = rateExact(pricingTerms(item.price), String(item.quantity ?? 1));
  const quantity = lineQuantity(String(item.quantity ?? 1));
  const prorated = !fraction.eq(1);
  return {
    subscription_item: item.id,
    price: item.price.id,
    product: item.price.product,
    meter: null,
    quantity: Number(quantity),
    amount: Number(roundMinor(amount.mul(fraction))),
    currency: item.price.currency,
    unit_amount_decimal: item.price.billing_scheme === 'per_unit' ? item.price.unit_amount_decimal : null,
    description: `${prorated ? 'Remaining time on ' : ''}${quantity} × ${productName}${per(item.price)}`,
    period: { start, end },
  };
}
