import type { CreateSubscriptionInvoiceRequest, RatedLine } from '@meterflow/contracts';
import { DomainError, Dec, invalid } from '@meterflow/kernel';
import { periodContaining, type Recurrence } from './billing-period.js';
import { licensedLine } from './rated-line.js';
import { isMetered, type PriceObject } from './price.js';
import type { NewItem } from './subscription.commands.js';
import type { SubscriptionItemState, SubscriptionState } from './subscription.types.js';

/** Checks and builders the subscription decisions share (pure). */

export const canceledError = (_id: string): DomainError =>
  new DomainError('subscription_canceled', 'A canceled subscription can only update its metadata and cancellation_details.', {
    param: 'subscription',
  });

export function recurrenceOf(price: PriceObject, param: string): Recurrence {
  if (!price.recurring)
    throw invalid(param, `The price specified is set to \`type=one_time\` but this field only accepts prices with \`type=recurring\`.`);
  return { interval: price.recurring.interval, interval_count: price.recurring.interval_count };
}

export function checkItem(item: NewItem, i: number | null, sub: { currency: string; recurrence: Recurrence } | null): void {
  const p = i === null ? 'price' : `items[${i}][price]`;
  if (!item.price.active) throw invalid(p, `The price specified is inactive. This field only accepts active prices.`);
  const r = recurrenceOf(item.price, p);
  if (isMetered(item.price) && item.quantity !== undefined)
    throw invalid(
      i === null ? 'quantity' : `items[${i}][quantity]`,
      'Quantity should not be specified where usage_type is `metered`. Remove quantity from `items`.',
    );
  if (sub) {
    if (item.price.currency !== sub.currency)
      throw invalid(p, `The price specified uses currency \`${item.price.currency}\`, but the subscription uses \`${sub.currency}\`.`);
    if (r.interval !== sub.recurrence.interval || r.interval_count !== sub.recurrence.interval_count)
      throw invalid(p, 'The price specified has a different billing interval than the other items on the subscription.');
  }
}

export const makeItem = (item: NewItem, now: number, start: number, end: number): SubscriptionItemState => ({
  id: item.id,
  created: now,
  price: item.price,
  quantity: isMetered(item.price) ? null : (item.quantity ?? 1),
  metadata: item.metadata ?? {},
  current_period_start: start,
  current_period_end: end,
});

/** Share of a full period that [start, end) is (end is a period boundary). */
export function prorationFraction(s: SubscriptionState, start: number, end: number): Dec {
  const full = periodContaining(s.billing_cycle_anchor, s.recurrence, end - 1);
  if (start === full.start) return new Dec(1);
  return new Dec(end - start).div(end - full.start);
}

/** Licensed items billed in advance for the period [start, end). */
export function licensedLines(s: SubscriptionState, start: number, end: number, names: Record<string, string> = {}): RatedLine[] {
  return s.items
    .filter((it) => !isMetered(it.price))
    .map((it) => licensedLine(it, start, end, names[it.price.product] ?? it.price.product));
}

export function invoiceRequest(
  s: SubscriptionState,
  reason: CreateSubscriptionInvoiceRequest['billing_reason'],
  periodStart: number,
  periodEnd: number,
  created: number,
  lines: RatedLine[],
): CreateSubscriptionInvoiceRequest {
  return {
    idempotency_key: `${s.id}:${periodStart}:${reason}`,
    customer: s.customer,
    subscription: s.id,
    currency: s.currency,
    billing_reason: reason,
    period_start: periodStart,
    period_end: periodEnd,
    created,
    test_clock: s.test_clock,
    lines,
    // Invoice items earlier changes made that no invoice carried yet go on this one.
    ...(s.pending_invoice_items?.length ? { invoice_items: s.pending_invoice_items } : {}),
  };
}
