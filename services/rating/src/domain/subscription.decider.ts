import { DomainError, assertNever } from '@meterflow/kernel';
import type { SubscriptionCommand, SubscriptionEvent } from './subscription.commands.js';
import { decideCancel, decideMigrateBillingMode, decideUpdateSubscription } from './subscription.cancellation.js';
import { refuseWhileCloseDue } from './subscription.close-pending.js';
import { createSubscription } from './subscription.create.js';
import { decideAddItem, decideDeleteItem, decideUpdateItem } from './subscription.items.js';
import { decideClosePeriod, decideResetBillingCycleAnchor } from './subscription.period.js';
import type { SubscriptionState } from './subscription.types.js';

/**
 * The subscription decider: `decide` routes each command to its use case, `evolve` folds the
 * events. The rules live beside it, one module per use case:
 *   subscription.commands.ts      commands and events
 *   subscription.create.ts        creation (validation, first period, `subscription_create` invoice)
 *   subscription.items.ts         adding, updating (price, quantity) and deleting items
 *   subscription.cancellation.ts  updates, scheduled and immediate cancellation, billing-mode migration
 *   subscription.period.ts        when it is due, period closes, billing cycle anchor resets
 *   subscription.close-pending.ts no change lands on a period that ended but is not closed yet
 *   subscription.prorations.ts    invoice items a change makes (prorations, flexible usage), stale usage
 *   subscription.rules.ts         shared checks, proration fraction, invoice requests
 *   subscription.evolve.ts        state from events
 * The pipeline runs it through subscription.aggregate.ts (`subscriptionDecider`).
 */

export type { Closing, CreateSubscriptionInput, NewItem, SubscriptionCommand, SubscriptionEvent } from './subscription.commands.js';
export { createSubscription } from './subscription.create.js';
export { dueClosing, meteredWindows, nextDue } from './subscription.period.js';
export { evolve } from './subscription.evolve.js';

export function decide(command: SubscriptionCommand, state: SubscriptionState | null): SubscriptionEvent[] {
  if (command.type === 'CreateSubscription') {
    if (state) throw new DomainError('resource_already_exists', `Subscription ${command.input.id} already exists.`);
    return [{ type: 'SubscriptionCreated', data: { subscription: createSubscription(command.input) } }];
  }
  if (!state) throw new DomainError('resource_missing', 'No such subscription', { status: 404 });
  refuseWhileCloseDue(command, state);
  switch (command.type) {
    case 'UpdateSubscription':
      return decideUpdateSubscription(command, state);
    case 'AddItem':
      return decideAddItem(command, state);
    case 'UpdateItem':
      return decideUpdateItem(command, state);
    case 'DeleteItem':
      return decideDeleteItem(command, state);
    case 'MigrateBillingMode':
      return decideMigrateBillingMode(command, state);
    case 'ClosePeriod':
      return decideClosePeriod(command, state);
    case 'ResetBillingCycleAnchor':
      return decideResetBillingCycleAnchor(command, state);
    case 'Cancel':
      return decideCancel(command, state);
    case 'AcknowledgeInvoice':
      if (!state.pending_invoices.some((p) => p.idempotency_key === command.idempotency_key)) return [];
      return [{ type: 'SubscriptionInvoiceAcknowledged', data: { idempotency_key: command.idempotency_key, invoice: command.invoice } }];
    default:
      return assertNever(command);
  }
}
