import type { RatedLine } from '@meterflow/contracts';
import { Dec, roundMinor } from '@meterflow/kernel';
import { pricingTerms, type PriceObject } from './price.js';
import { rateExact, rateUsage } from './rating.math.js';

/** The line of a metered item: usage over [start, end), billed in arrears. */
export function meteredLine(
  w: { subscription_item: string; price: PriceObject; start: number; end: number },
  usage: string,
  productName: string,
): RatedLine {
  const { quantity, amount } = rateUsage(pricingTerms(w.price), usage);
  return {
    subscription_item: w.subscription_item,
    price: w.price.id,
    product: w.price.product,
    meter: w.price.recurring?.meter ?? null,
    quantity: Number(quantity),
    amount: Number(amount),
    currency: w.price.currency,
    unit_amount_decimal: w.price.billing_scheme === 'per_unit' ? w.price.unit_amount_decimal : null,
    description: w.price.billing_scheme === 'tiered' ? `${productName} (tiered)` : `${quantity} × ${productName}`,
    period: { start: w.start, end: w.end },
  };
}

/**
 * The line of a licensed item, billed in advance for [start, end). `fraction` < 1 prorates a
 * partial period (by time); the line is still rounded once.
 */
export function licensedLine(
  item: { id: string; price: PriceObject; quantity: number | null },
  start: number,
  end: number,
  productName: string,
  fraction: Dec = new Dec(1),
): RatedLine {
  const { quantity, amount } = rateExact(pricingTerms(item.price), String(item.quantity ?? 1));
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
    description: prorated ? `Remaining time on ${quantity} × ${productName}` : `${quantity} × ${productName}`,
    period: { start, end },
  };
}
