import type {
  CreateSubscriptionInvoiceRequest,
  PreviewSubscriptionInvoiceReply,
  RatedLine,
  SubscriptionInvoiceItem,
} from '@meterflow/contracts';
import { DomainError } from '@meterflow/kernel';
import { nextBoundaryAfter } from './billing-period.js';
import { netOfThresholds } from './billing-threshold.js';
import { licensedLine } from './rated-line.js';
import { isMetered } from './price.js';
import type { SubscriptionItemState, SubscriptionState } from './subscription.types.js';

/*
 * Invoice preview (issue 8 item 8; `POST /v1/invoices/create_preview`): the invoice the
 * subscription would be issued, computed from its state and the usage known now, written nowhere.
 *
 * - No change: the upcoming period-end invoice, as closing the period now would bill it: pending
 *   lines, each metered item's usage from its window start to now (net of threshold invoices
 *   already issued in the period), and the licensed items in advance for the next period (none
 *   when the subscription ends at the period end). `billing_reason` is Stripe's `upcoming`.
 * - A change that invoices at once (`subscription_details` with `proration_behavior=always_invoice`,
 *   `billing_cycle_anchor=now`, `cancel_now`): the invoice that change would issue, as the decider
 *   decides it (`subscription_update`).
 */

export type PreviewInvoice = NonNullable<PreviewSubscriptionInvoiceReply['invoice']>;

/** Stripe's answer when there is nothing to preview (`invoice_upcoming_none`). */
export const noUpcomingInvoice = (customer: string): DomainError =>
  new DomainError('invoice_upcoming_none', `No upcoming invoices for customer: ${customer}`, { status: 404 });

/** Each metered item's usage window up to `at` (the caller rates them; an item added later than `at` has an empty one). */
export function previewWindows(s: SubscriptionState, at: number): { item: SubscriptionItemState; start: number; end: number }[] {
  const end = Math.min(at, usageEnd(s));
  return s.items.filter((it) => isMetered(it.price)).map((item) => ({ item, start: Math.min(item.current_period_start, end), end }));
}

/** Where the current period's usage window ends: the period end, or an earlier scheduled cancellation. */
function usageEnd(s: SubscriptionState): number {
  return s.cancel_at !== null && s.cancel_at < s.period.end ? s.cancel_at : s.period.end;
}

/**
 * The upcoming period-end invoice at `at`. `usage` are the rated lines of `previewWindows(s, at)`;
 * `names` product names for the licensed lines. Invoice items a change already made pending
 * (`s.pending_invoice_items`) are invoicing's pending items, which invoicing adds with their own
 * ids; they are not lines here (else a preview bills them twice). `made`: the invoice items a
 * previewed change would make (not made, so invoicing does not have them).
 */
export function upcomingInvoice(
  s: SubscriptionState,
  usage: readonly RatedLine[],
  names: Record<string, string> = {},
  made: readonly SubscriptionInvoiceItem[] = [],
): PreviewInvoice {
  if (s.status !== 'active') throw noUpcomingInvoice(s.customer);
  const end = usageEnd(s);
  const ending = s.cancel_at_period_end || (s.cancel_at !== null && s.cancel_at <= s.period.end);
  const nextEnd = nextBoundaryAfter(s.billing_cycle_anchor, s.recurrence, end);
  const advance = ending
    ? []
    : s.items.filter((it) => !isMetered(it.price)).map((it) => licensedLine(it, end, nextEnd, names[it.price.product] ?? it.price.product));
  return {
    subscription: s.id,
    currency: s.currency,
    billing_reason: 'upcoming',
    period_start: s.period.start,
    period_end: end,
    lines: [...s.pending_lines, ...netOfThresholds(usage, s.threshold_lines ?? []), ...advance],
    invoice_items: [...made],
  };
}

/** An invoice a (hypothetical) change decided, as a preview. */
export function previewOf(request: CreateSubscriptionInvoiceRequest): PreviewInvoice {
  return {
    subscription: request.subscription,
    currency: request.currency,
    billing_reason: 'subscription_update',
    period_start: request.period_start,
    period_end: request.period_end,
    lines: [...request.lines],
    // the invoice items it carries (prorations, flexible usage; made by the change or pending
    // before): invoicing renders them as invoice-item lines, each once
    invoice_items: [...(request.invoice_items ?? [])],
  };
}
