import { DomainError, invalid } from '@meterflow/kernel';
import { bool, int, obj, paramName, rejectUnknown, type Params } from '@meterflow/stripe-api';
import type { BillingThresholds } from '../domain/billing-threshold.js';

/**
 * `billing_thresholds[amount_gte]`, `billing_thresholds[reset_billing_cycle_anchor]` on
 * subscriptions create and update (stripe-api.md §4; issue 8 item 6). Absent: undefined; `''`:
 * null (Stripe's "remove previously-defined thresholds"). The amount's business rules (minimum,
 * above the licensed items) are the domain's (billing-threshold.ts).
 */
export function readBillingThresholds(p: Params): BillingThresholds | null | undefined {
  const t = obj(p, 'billing_thresholds');
  if (t === undefined || t === null) return t;
  rejectUnknown(t, ['amount_gte', 'reset_billing_cycle_anchor']);
  const amount = int(t, 'amount_gte');
  if (amount === undefined || amount === null)
    throw new DomainError('parameter_missing', `Missing required param: ${paramName(t, 'amount_gte')}.`, {
      param: paramName(t, 'amount_gte'),
    });
  return { amount_gte: amount, reset_billing_cycle_anchor: bool(t, 'reset_billing_cycle_anchor') ?? false };
}

/**
 * `billing_thresholds[usage_gte]` on a subscription item (Stripe's per-item usage threshold) is not
 * implemented: refused, naming it, rather than accepted and ignored (a threshold that never
 * invoices bills differently from Stripe without a word; docs/lifecycle.md "Billing thresholds").
 * `''` (no threshold) is accepted.
 */
export function refuseItemThresholds(item: Params): void {
  const t = obj(item, 'billing_thresholds');
  if (t === undefined || t === null) return;
  throw invalid(
    paramName(t, 'usage_gte'),
    'Usage thresholds on subscription items are not supported; set billing_thresholds[amount_gte] on the subscription instead.',
  );
}
