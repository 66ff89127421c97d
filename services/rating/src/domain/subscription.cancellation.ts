import type { CreateSubscriptionInvoiceRequest, SubscriptionInvoiceItem } from '@meterflow/contracts';
import { invalid } from '@meterflow/kernel';
import type { CommandOf, SubscriptionEvent } from './subscription.commands.js';
import { changeHandOver, ItemIds, licensedProrations, refuseStaleUsage } from './subscription.prorations.js';
import { canceledError, invoiceRequest } from './subscription.rules.js';
import type { SubscriptionState } from './subscription.types.js';

/**
 * Updates of the subscription itself (metadata, description, scheduling or unscheduling a
 * cancellation) and cancelling it now. A period close that ends it is in subscription.period.ts.
 */

const withItems = (r: CreateSubscriptionInvoiceRequest, items: readonly SubscriptionInvoiceItem[]): CreateSubscriptionInvoiceRequest =>
  items.length === 0 ? r : { ...r, invoice_items: [...(r.invoice_items ?? []), ...items] };

type Changes = Extract<SubscriptionEvent, { type: 'SubscriptionUpdated' }>['data']['changes'];

export function decideUpdateSubscription(c: CommandOf<'UpdateSubscription'>, s: SubscriptionState): SubscriptionEvent[] {
  if (s.status !== 'active' && (c.cancel_at !== undefined || c.cancel_at_period_end !== undefined || c.description !== undefined))
    throw canceledError(s.id);
  const changes: Changes = {};
  if (c.metadata !== undefined) changes.metadata = c.metadata;
  if (c.description !== undefined) changes.description = c.description;
  if (c.cancellation_details) changes.cancellation_details = { ...s.cancellation_details, ...c.cancellation_details };
  if (c.cancel_at_period_end !== undefined && c.cancel_at !== undefined && c.cancel_at !== null && c.cancel_at_period_end)
    throw invalid('cancel_at', 'You may only specify one of these parameters: cancel_at, cancel_at_period_end.');
  if (c.cancel_at_period_end !== undefined) {
    changes.cancel_at_period_end = c.cancel_at_period_end;
    changes.cancel_at = c.cancel_at_period_end ? s.period.end : null;
  }
  if (c.cancel_at !== undefined) {
    if (c.cancel_at !== null && c.cancel_at <= c.now) throw invalid('cancel_at', 'cancel_at must be in the future.');
    changes.cancel_at = c.cancel_at;
    if (c.cancel_at === null) changes.cancel_at_period_end = false;
  }
  if (changes.cancel_at !== undefined) {
    const scheduled = changes.cancel_at !== null;
    // Stripe: canceled_at records when the cancellation was requested; reactivation clears it.
    changes.canceled_at = scheduled ? c.now : null;
    changes.cancellation_details = {
      ...(changes.cancellation_details ?? s.cancellation_details),
      reason: scheduled ? 'cancellation_requested' : null,
    };
  }
  return [{ type: 'SubscriptionUpdated', data: { changes } }];
}

/**
 * Cancelling now. `invoice_now`: a final invoice of the usage so far, the pending lines and
 * invoice items. `prorate`: each licensed item's unused time is credited (classic: from its
 * current price; flexible: what was debited), on the final invoice or, without `invoice_now`,
 * as pending invoice items (reference §4 Cancellation; subscription.prorations.ts).
 */
export function decideCancel(command: CommandOf<'Cancel'>, s: SubscriptionState): SubscriptionEvent[] {
  if (s.status !== 'active') throw canceledError(s.id);
  if (command.invoice_now) refuseStaleUsage(command.lines, s, command.now);
  const lines = [...s.pending_lines, ...command.lines];
  const ids = new ItemIds(command.invoice_item_ids ?? []);
  const credits = command.prorate
    ? s.items.flatMap((it) => licensedProrations(s, it, null, command.now, ids, command.product_names ?? {}).items)
    : [];
  const invoice = command.invoice_now
    ? withItems(invoiceRequest(s, 'subscription_update', s.period.start, command.now, command.now, lines), credits)
    : changeHandOver(s, 'create_prorations', command.now, credits);
  return [
    {
      type: 'SubscriptionCanceled',
      data: {
        canceled_at: command.now,
        ended_at: command.now,
        cancellation_details: {
          comment: command.cancellation_details?.comment ?? s.cancellation_details.comment,
          feedback: command.cancellation_details?.feedback ?? s.cancellation_details.feedback,
          reason: 'cancellation_requested',
        },
        invoice,
      },
    },
  ];
}

export function decideMigrateBillingMode(command: CommandOf<'MigrateBillingMode'>, s: SubscriptionState): SubscriptionEvent[] {
  if (s.status !== 'active') throw canceledError(s.id);
  if (s.billing_mode.type === 'flexible') return [];
  return [{ type: 'SubscriptionBillingModeMigrated', data: { updated_at: command.now } }];
}
