import type {
  CreateSubscriptionInvoiceRequest,
  EventOf,
  RatedLine,
  SubscriptionThresholdInvoiced,
  SubscriptionUpdated,
} from '@meterflow/contracts';
import { DomainError, sameJson } from '@meterflow/kernel';
import { nextBoundaryAfter } from './billing-period.js';
import {
  checkBillingThresholds,
  netOfThresholds,
  thresholdInvoiceLines,
  thresholdReached,
  type BillingThresholds,
} from './billing-threshold.js';
import { isMetered } from './price.js';
import { licensedLine } from './rated-line.js';
import type { SubscriptionItemState, SubscriptionState } from './subscription.types.js';

/*
 * The subscription's side of billing thresholds (issue 8 item 6; rules in billing-threshold.ts):
 * setting them, and the threshold invoice. Its commands run beside the subscription decider's
 * (subscription.aggregate.ts composes them); a threshold invoice without a reset leaves the
 * period as it is and remembers its lines, so every later invoice of the period (the period end,
 * `billing_cycle_anchor=now`, a final invoice, flexible usage of a repriced item) bills each
 * item's usage net of them. With `reset_billing_cycle_anchor=true` it ends the period, as
 * `billing_cycle_anchor=now` does (reference §4: "treated like a natural rollover").
 */

export type ThresholdEvent = EventOf<typeof SubscriptionThresholdInvoiced>;
type SubscriptionUpdatedEvent = EventOf<typeof SubscriptionUpdated>;

export type ThresholdCommand =
  | {
      /** `billing_thresholds` on create (after CreateSubscription, same unit) or update; null removes them. */
      type: 'SetBillingThresholds';
      now: number;
      billing_thresholds: BillingThresholds | null;
    }
  | {
      /** Evaluate the threshold at `now`; invoice the usage so far if it is reached. */
      type: 'InvoiceThreshold';
      now: number;
      /** Each metered item's usage over [its window start, now), rated by the caller (`thresholdWindows`). */
      lines: RatedLine[];
      product_names?: Record<string, string>;
      /** The invoice invoicing already made for this request (handed over before recording). */
      accepted_invoice?: string;
    };

export const thresholdsOf = (s: SubscriptionState): BillingThresholds | null => s.billing_thresholds ?? null;

/** What the licensed items cost per full period (Stripe's floor for `amount_gte`). */
export function licensedPerPeriod(items: readonly SubscriptionItemState[]): number {
  return items.filter((it) => !isMetered(it.price)).reduce((sum, it) => sum + licensedLine(it, 0, 1, '').amount, 0);
}

/** When the subscription's usage window ends (the period end, or an earlier scheduled cancellation). */
const windowEnd = (s: SubscriptionState): number => (s.cancel_at !== null && s.cancel_at < s.period.end ? s.cancel_at : s.period.end);

/** The usage windows a threshold evaluation at `at` rates: each metered item's, to `at`. */
export function thresholdWindows(s: SubscriptionState, at: number): { item: SubscriptionItemState; start: number; end: number }[] {
  return s.items.filter((it) => isMetered(it.price)).map((item) => ({ item, start: Math.min(item.current_period_start, at), end: at }));
}

/** Whether a threshold evaluation at `at` can invoice anything (active, thresholds set, period running). */
export const evaluatesThreshold = (s: SubscriptionState | null, at: number): boolean =>
  !!s && s.status === 'active' && thresholdsOf(s) !== null && at < windowEnd(s);

export function decideThreshold(command: ThresholdCommand, s: SubscriptionState | null): (ThresholdEvent | SubscriptionUpdatedEvent)[] {
  if (!s) throw new DomainError('resource_missing', 'No such subscription', { status: 404 });
  switch (command.type) {
    case 'SetBillingThresholds': {
      const t = command.billing_thresholds;
      if (t) checkBillingThresholds(t, licensedPerPeriod(s.items), s.currency);
      if (sameJson(t, thresholdsOf(s))) return [];
      return [{ type: 'SubscriptionUpdated', data: { changes: { billing_thresholds: t } } }];
    }
    case 'InvoiceThreshold': {
      const t = thresholdsOf(s);
      const at = command.now;
      if (!evaluatesThreshold(s, at) || !t) return [];
      // Only lines of the windows the subscription has now (the caller rated an earlier state, maybe).
      const current = command.lines.filter((l) =>
        s.items.some(
          (it) => it.id === l.subscription_item && it.price.id === l.price && Math.min(it.current_period_start, at) === l.period.start,
        ),
      );
      const net = netOfThresholds(current, s.threshold_lines ?? []);
      if (!thresholdReached(t, net, at, windowEnd(s))) return [];
      const usage = thresholdInvoiceLines(net);
      const names = command.product_names ?? {};
      const reset = t.reset_billing_cycle_anchor ? { anchor: at, period_end: nextBoundaryAfter(at, s.recurrence, at) } : null;
      // A reset ends the period: pending lines go with it and licensed items start a new period in advance.
      const lines = reset
        ? [
            ...s.pending_lines,
            ...usage,
            ...s.items
              .filter((it) => !isMetered(it.price))
              .map((it) => licensedLine(it, at, reset.period_end, names[it.price.product] ?? it.price.product)),
          ]
        : usage;
      const invoice: CreateSubscriptionInvoiceRequest = {
        // Several threshold invoices may fall in one period: the time tells them apart.
        idempotency_key: `${s.id}:${s.period.start}:subscription_threshold:${at}`,
        customer: s.customer,
        subscription: s.id,
        currency: s.currency,
        billing_reason: 'subscription_threshold',
        period_start: s.period.start,
        period_end: at,
        created: at,
        test_clock: s.test_clock,
        lines,
        // A reset ends the period: invoice items pending for it go with it.
        ...(reset && s.pending_invoice_items?.length ? { invoice_items: s.pending_invoice_items } : {}),
      };
      return [
        {
          type: 'SubscriptionThresholdInvoiced',
          data: { at, invoice, reset, ...(command.accepted_invoice ? { invoice_id: command.accepted_invoice } : {}) },
        },
      ];
    }
  }
}

/** The lines a threshold invoice billed of the current windows (metered, subscription items). */
const thresholdLinesOf = (invoice: CreateSubscriptionInvoiceRequest): RatedLine[] => invoice.lines.filter((l) => l.meter !== null);

export function evolveThreshold(s: SubscriptionState | null, e: ThresholdEvent): SubscriptionState | null {
  if (!s) return s;
  const { invoice, invoice_id, reset } = e.data;
  const handed = invoice_id
    ? { pending_invoices: s.pending_invoices, latest_invoice: invoice_id }
    : { pending_invoices: [...s.pending_invoices, invoice], latest_invoice: s.latest_invoice };
  if (!reset) {
    // Lines of earlier windows (a repriced item's old window) offset nothing any more: dropped.
    const current = (s.threshold_lines ?? []).filter((l) =>
      s.items.some((it) => it.id === l.subscription_item && it.current_period_start === l.period.start),
    );
    return { ...s, ...handed, threshold_lines: [...current, ...thresholdLinesOf(invoice)] };
  }
  const { anchor: start, period_end: end } = reset;
  return {
    ...s,
    ...handed,
    billing_cycle_anchor: start,
    billing_cycle_anchor_config: null,
    period: { start, end },
    cancel_at: s.cancel_at_period_end ? end : s.cancel_at,
    items: s.items.map(({ debits: _, ...it }) => ({ ...it, current_period_start: start, current_period_end: end })),
    pending_lines: [],
    ...(s.pending_invoice_items ? { pending_invoice_items: [] } : {}),
    threshold_lines: [],
  };
}

/**
 * A subscription command with the usage it bills net of the period's threshold invoices: the
 * period end, `billing_cycle_anchor=now`, a final invoice and flexible usage of a removed or
 * repriced item all bill "only the rest" (billing-threshold.ts).
 */
export function nettedOfThresholds<C extends { type: string }>(command: C, s: SubscriptionState | null): C {
  const billed = s?.threshold_lines ?? [];
  if (billed.length === 0) return command;
  const c = command as C & { lines?: RatedLine[]; usage_lines?: RatedLine[] };
  if (c.type === 'ClosePeriod' || c.type === 'ResetBillingCycleAnchor' || c.type === 'Cancel')
    return { ...c, lines: netOfThresholds(c.lines ?? [], billed) };
  if (c.type === 'UpdateItem' || c.type === 'DeleteItem') return { ...c, usage_lines: netOfThresholds(c.usage_lines ?? [], billed) };
  return command;
}
