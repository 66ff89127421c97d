import { DomainError } from '@meterflow/kernel';
import type { SubscriptionCommand } from './subscription.commands.js';
import { dueClosing } from './subscription.period.js';
import type { SubscriptionState } from './subscription.types.js';

/*
 * A change lands on the period it is made in (reference §4: changes bill the usage so far of the
 * current period, the period end bills the rest). A change made after the period ended but before
 * its close ran (a lagging scheduler) would land on the wrong period: a flexible price change bills
 * [start, now) and the close then restarts the item at the boundary, so [boundary, now) is billed
 * twice; a classic one loses the ended period's usage; a cancellation or anchor reset bills past a
 * `cancel_at` already reached (found by subscription.properties.unit.spec.ts). So such a change
 * waits for the close: the decider refuses it (409), and the application closes due periods before
 * deciding (SubscriptionWrites.load).
 */

/** Whether the command changes what the current period bills. */
function changesBilling(c: SubscriptionCommand): c is Extract<SubscriptionCommand, { now: number }> {
  switch (c.type) {
    case 'AddItem':
    case 'UpdateItem':
    case 'DeleteItem':
    case 'Cancel':
    case 'ResetBillingCycleAnchor':
      return true;
    case 'UpdateSubscription':
      return c.cancel_at !== undefined || c.cancel_at_period_end !== undefined;
    default:
      return false;
  }
}

export function refuseWhileCloseDue(command: SubscriptionCommand, s: SubscriptionState): void {
  if (!changesBilling(command)) return;
  const due = dueClosing(s, command.now);
  if (due)
    throw new DomainError(
      'subscription_period_close_pending',
      `The subscription's period ended at ${due.period_end} and is being closed; retry the request.`,
      { status: 409 },
    );
}
