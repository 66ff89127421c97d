import { nextBoundaryAfter } from './billing-period.js';
import { isMetered } from './price.js';
import type { Closing, CommandOf, SubscriptionEvent } from './subscription.commands.js';
import { refuseStaleUsage } from './subscription.prorations.js';
import { canceledError, invoiceRequest, licensedLines } from './subscription.rules.js';
import type { SubscriptionItemState, SubscriptionState } from './subscription.types.js';

/** Period boundaries: when a subscription is due, closing a period, resetting the billing cycle anchor. */

/** When the subscription next has work: its period end, or an earlier scheduled cancellation. */
export function nextDue(s: SubscriptionState): number | null {
  if (s.status !== 'active') return null;
  return s.cancel_at !== null && s.cancel_at < s.period.end ? s.cancel_at : s.period.end;
}

export function dueClosing(s: SubscriptionState, at: number): Closing | null {
  const due = nextDue(s);
  if (due === null || due > at) return null;
  const ending = s.cancel_at_period_end || (s.cancel_at !== null && s.cancel_at <= s.period.end);
  return { period_start: s.period.start, period_end: due, ending };
}

/** The usage each metered item bills for a window ending at `end`. */
export function meteredWindows(s: SubscriptionState, end: number): { item: SubscriptionItemState; start: number; end: number }[] {
  return s.items.filter((it) => isMetered(it.price)).map((item) => ({ item, start: Math.min(item.current_period_start, end), end }));
}

export function decideClosePeriod(command: CommandOf<'ClosePeriod'>, s: SubscriptionState): SubscriptionEvent[] {
  const closing = dueClosing(s, command.closing.period_end);
  // Idempotent: a closing already applied (or no longer due) records nothing.
  if (!closing || closing.period_start !== command.closing.period_start || closing.period_end !== command.closing.period_end) return [];
  const nextEnd = nextBoundaryAfter(s.billing_cycle_anchor, s.recurrence, closing.period_end);
  // In arrears: metered usage of the period just ended; in advance: licensed items for the next one.
  const advance = closing.ending ? [] : licensedLines(s, closing.period_end, nextEnd, command.product_names);
  const lines = [...s.pending_lines, ...command.lines, ...advance];
  const invoice = invoiceRequest(s, 'subscription_cycle', closing.period_start, closing.period_end, closing.period_end, lines);
  const accepted = command.accepted_invoice ? { invoice_id: command.accepted_invoice } : {};
  if (closing.ending) {
    return [
      {
        type: 'SubscriptionCanceled',
        data: {
          canceled_at: s.canceled_at ?? closing.period_end,
          ended_at: closing.period_end,
          cancellation_details: { ...s.cancellation_details, reason: s.cancellation_details.reason ?? 'cancellation_requested' },
          invoice,
          ...accepted,
        },
      },
    ];
  }
  return [
    {
      type: 'SubscriptionPeriodClosed',
      data: { period_start: closing.period_start, period_end: closing.period_end, next_period_end: nextEnd, invoice, ...accepted },
    },
  ];
}

export function decideResetBillingCycleAnchor(command: CommandOf<'ResetBillingCycleAnchor'>, s: SubscriptionState): SubscriptionEvent[] {
  if (s.status !== 'active') throw canceledError(s.id);
  const now = command.now;
  refuseStaleUsage(command.lines, s, now);
  const end = nextBoundaryAfter(now, s.recurrence, now);
  const lines = [
    ...s.pending_lines,
    ...command.lines,
    ...licensedLines({ ...s, billing_cycle_anchor: now }, now, end, command.product_names),
  ];
  const invoice = invoiceRequest(s, 'subscription_update', s.period.start, now, now, lines);
  return [{ type: 'SubscriptionBillingCycleAnchorReset', data: { anchor: now, period_end: end, invoice } }];
}
