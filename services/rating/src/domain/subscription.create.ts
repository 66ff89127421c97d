import { DomainError, Dec, invalid } from '@meterflow/kernel';
import { nextBoundaryAfter, resolveAnchorConfig } from './billing-period.js';
import { creationMeteredLines, firstPeriodStart } from './creation-invoice.js';
import { licensedLine } from './rated-line.js';
import { isMetered } from './price.js';
import type { CreateSubscriptionInput } from './subscription.commands.js';
import { checkItem, invoiceRequest, makeItem, prorationFraction, recurrenceOf } from './subscription.rules.js';
import type { SubscriptionState } from './subscription.types.js';

/** A new subscription's state from its creation parameters, with its `subscription_create` invoice request. */
export function createSubscription(input: CreateSubscriptionInput): SubscriptionState {
  if (input.items.length === 0) throw new DomainError('parameter_missing', 'Missing required param: items.', { param: 'items' });
  const first = input.items[0]!;
  checkItem(first, 0, null);
  const currency = first.price.currency;
  const recurrence = recurrenceOf(first.price, 'items[0][price]');
  input.items.forEach((it, i) => checkItem(it, i, { currency, recurrence }));
  const seen = new Set<string>();
  for (const [i, it] of input.items.entries()) {
    if (seen.has(it.price.id))
      throw invalid(`items[${i}][price]`, 'Cannot add multiple subscription items with the same price to a subscription.');
    seen.add(it.price.id);
  }

  const now = input.now;
  if (input.billing_cycle_anchor !== undefined && input.billing_cycle_anchor_config !== undefined)
    throw new DomainError(
      'parameters_exclusive',
      'You may only specify one of these parameters: billing_cycle_anchor, billing_cycle_anchor_config.',
      { param: 'billing_cycle_anchor' },
    );
  if (input.billing_cycle_anchor !== undefined && input.billing_cycle_anchor < now)
    throw invalid('billing_cycle_anchor', 'billing_cycle_anchor cannot be in the past.');
  if (input.billing_cycle_anchor_config && (recurrence.interval === 'day' || recurrence.interval === 'week'))
    throw invalid('billing_cycle_anchor_config', '`billing_cycle_anchor_config` is only supported for monthly and yearly prices.');
  if (input.backdate_start_date !== undefined && input.backdate_start_date > now)
    throw invalid('backdate_start_date', 'backdate_start_date must be in the past.');
  if (input.cancel_at !== undefined && input.cancel_at <= now) throw invalid('cancel_at', 'cancel_at must be in the future.');
  if (input.cancel_at !== undefined && input.cancel_at_period_end)
    throw invalid('cancel_at', 'You may only specify one of these parameters: cancel_at, cancel_at_period_end.');

  const anchor =
    input.billing_cycle_anchor ??
    (input.billing_cycle_anchor_config ? resolveAnchorConfig(input.billing_cycle_anchor_config, now, recurrence.interval) : now);
  const mode = input.billing_mode ?? 'flexible';
  const start = input.backdate_start_date ?? now;
  // The first period runs to the first boundary after now; classic bills a backdated start's
  // usage with it, flexible on the creation invoice (so its first period starts now).
  const periodStart = firstPeriodStart(mode, input.backdate_start_date, now);
  const end = nextBoundaryAfter(anchor, recurrence, now);
  const cancelAtPeriodEnd = input.cancel_at_period_end ?? false;
  const state: SubscriptionState = {
    id: input.id,
    customer: input.customer.id,
    currency,
    test_clock: input.customer.test_clock,
    status: 'active',
    created: now,
    start_date: start,
    billing_cycle_anchor: anchor,
    billing_cycle_anchor_config: input.billing_cycle_anchor_config ?? null,
    billing_mode: { type: mode, updated_at: input.billing_mode ? now : null },
    recurrence,
    period: { start: periodStart, end },
    cancel_at: input.cancel_at ?? (cancelAtPeriodEnd ? end : null),
    cancel_at_period_end: cancelAtPeriodEnd,
    canceled_at: cancelAtPeriodEnd || input.cancel_at !== undefined ? now : null,
    ended_at: null,
    cancellation_details: { comment: null, feedback: null, reason: cancelAtPeriodEnd || input.cancel_at ? 'cancellation_requested' : null },
    description: input.description ?? null,
    metadata: input.metadata ?? {},
    items: input.items.map((it) => makeItem(it, now, periodStart, end)),
    latest_invoice: null,
    pending_invoices: [],
    pending_lines: [],
  };
  // The `subscription_create` invoice: metered items as creation-invoice.ts says (classic: a
  // 0-amount line each; flexible: backdated usage), licensed items billed in advance for the
  // first period (prorated when it is partial; free when partial and proration_behavior=none).
  const names = input.product_names ?? {};
  const lines = creationMeteredLines({
    mode,
    items: state.items,
    start,
    end,
    proration: input.proration_behavior,
    backdated: input.backdated_lines,
    productName: (p) => names[p] ?? p,
  });
  const licensed = state.items.filter((it) => !isMetered(it.price));
  if (licensed.length > 0) {
    let fraction = prorationFraction(state, start, end);
    const none = input.proration_behavior === 'none';
    if (none && fraction.gt(1)) fraction = new Dec(1);
    if (!(none && fraction.lt(1)))
      lines.push(...licensed.map((it) => licensedLine(it, start, end, names[it.price.product] ?? it.price.product, fraction)));
  }
  if (lines.length > 0) state.pending_invoices = [invoiceRequest(state, 'subscription_create', start, end, now, lines)];
  return state;
}
