import type { RatedLine } from '@meterflow/contracts';
import { invalid } from '@meterflow/kernel';

/*
 * Billing thresholds (stripe-api.md §4 "Billing thresholds"; seed 001 on price changes):
 *
 * - `billing_thresholds {amount_gte, reset_billing_cycle_anchor}` on a subscription. When the
 *   amount accrued in the current period reaches `amount_gte`, a `subscription_threshold`
 *   invoice bills the usage so far; the period-end invoice bills only the rest.
 * - "The rest" is what one period-end invoice would have billed minus what threshold invoices
 *   of the period already billed, per item and price: `rate(usage of [start, end)) − billed`.
 *   So a threshold never changes the money of a period (tiers and transform_quantity apply to
 *   the period's whole usage), it only moves part of it to an earlier invoice.
 * - Classic price change (seed 001): the item's usage window restarts at the change with the
 *   new price; a threshold invoice already issued at the old price stands and is not offset
 *   (its lines name the old price and the old window start, so they match nothing any more).
 * - `reset_billing_cycle_anchor=true`: the threshold invoice ends the period (a new cycle
 *   starts at the time the threshold was reached), so there is nothing left to offset.
 */

export interface BillingThresholds {
  /** Minor units of the subscription's currency. */
  amount_gte: number;
  reset_billing_cycle_anchor: boolean;
}

/**
 * The smallest `amount_gte` accepted, in minor units. The reference (§4) quotes Stripe's docs as
 * "at least 50 currency units" (UNCONFIRMED wording); we read it as 50 minor units, Stripe's
 * minimum charge (0.50 USD). docs/lifecycle.md "Billing thresholds".
 */
export const MIN_AMOUNT_GTE = 50;

/**
 * Stripe's refusals for `billing_thresholds` (reference §4): an integer amount of at least
 * MIN_AMOUNT_GTE, and (legacy doc) more than what the licensed items cost per period, else every
 * period would cross it at once.
 */
export function checkBillingThresholds(t: BillingThresholds, licensedPerPeriod: number, currency: string): void {
  if (!Number.isSafeInteger(t.amount_gte) || t.amount_gte < MIN_AMOUNT_GTE)
    throw invalid(
      'billing_thresholds[amount_gte]',
      `The billing threshold amount_gte must be at least ${MIN_AMOUNT_GTE} (in the smallest currency unit of ${currency}).`,
    );
  if (t.amount_gte <= licensedPerPeriod)
    throw invalid(
      'billing_thresholds[amount_gte]',
      `The billing threshold amount_gte (${t.amount_gte}) must be greater than the sum of the subscription's licensed item amounts (${licensedPerPeriod}).`,
    );
}

/** What earlier threshold invoices billed of a line's item, price and usage window. */
export interface Billed {
  quantity: number;
  amount: number;
}

const sameWindow = (a: RatedLine, b: RatedLine): boolean =>
  a.subscription_item === b.subscription_item && a.price === b.price && a.period.start === b.period.start && a.period.end <= b.period.end;

/**
 * Sum of what `thresholdLines` (lines of threshold invoices, each over [window start, threshold
 * time)) billed of `line`'s usage: same item, same price, same window start, ending within it.
 * A threshold line of an old price (classic price change) or of an earlier window matches nothing.
 */
export function billedBefore(thresholdLines: readonly RatedLine[], line: RatedLine): Billed {
  let quantity = 0;
  let amount = 0;
  for (const t of thresholdLines)
    if (t.meter !== null && sameWindow(t, line)) {
      quantity += t.quantity;
      amount += t.amount;
    }
  return { quantity, amount };
}

/**
 * `line` (usage of its whole window, rated as one) less what threshold invoices already billed of
 * it. Never below zero: a threshold invoice stands even if later usage adjustments (or a volume
 * tier) make the whole window worth less than it billed (docs/lifecycle.md).
 */
export function lessBilled(line: RatedLine, billed: Billed): RatedLine {
  if (billed.quantity === 0 && billed.amount === 0) return line;
  const quantity = Math.max(0, line.quantity - billed.quantity);
  const amount = Math.max(0, line.amount - billed.amount);
  const prefix = `${line.quantity} × `;
  const description = line.description.startsWith(prefix) ? `${quantity} × ${line.description.slice(prefix.length)}` : line.description;
  return { ...line, quantity, amount, description };
}

/** Each metered line less what the period's threshold invoices billed of it; other lines as they are. */
export function netOfThresholds(lines: readonly RatedLine[], thresholdLines: readonly RatedLine[]): RatedLine[] {
  if (thresholdLines.length === 0) return [...lines];
  return lines.map((l) => (l.meter === null ? l : lessBilled(l, billedBefore(thresholdLines, l))));
}

/** The amount accrued and not yet invoiced: the sum of the (net) metered lines. */
export function accrued(netLines: readonly RatedLine[]): number {
  return netLines.reduce((s, l) => s + (l.meter === null ? 0 : l.amount), 0);
}

/**
 * Whether a threshold invoice is due at `at`: thresholds set, the period still running (the
 * period-end invoice bills what accrued by then), and the unbilled usage at or above `amount_gte`.
 */
export function thresholdReached(t: BillingThresholds | null, netLines: readonly RatedLine[], at: number, periodEnd: number): boolean {
  if (!t || at >= periodEnd) return false;
  return accrued(netLines) >= t.amount_gte;
}

/**
 * The lines of a threshold invoice at `at`: each metered item's usage since its window start,
 * net of earlier threshold invoices, lines with nothing to bill left out.
 */
export function thresholdInvoiceLines(netLines: readonly RatedLine[]): RatedLine[] {
  return netLines.filter((l) => l.meter !== null && (l.amount > 0 || l.quantity > 0));
}
