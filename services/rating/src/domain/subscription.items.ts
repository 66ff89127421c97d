import type { RatedLine } from '@meterflow/contracts';
import { DomainError, invalid } from '@meterflow/kernel';
import { licensedLine } from './rated-line.js';
import { isMetered } from './price.js';
import type { CommandOf, SubscriptionEvent } from './subscription.commands.js';
import { canceledError, checkItem, makeItem, prorationFraction } from './subscription.rules.js';
import type { SubscriptionItemState, SubscriptionState } from './subscription.types.js';

/** Item changes on an active subscription: add, update (price, quantity, metadata), delete. */

export function decideAddItem(command: CommandOf<'AddItem'>, s: SubscriptionState): SubscriptionEvent[] {
  if (s.status !== 'active') throw canceledError(s.id);
  checkItem(command.item, null, s);
  if (s.items.some((it) => it.price.id === command.item.price.id))
    throw invalid('price', 'Cannot add multiple subscription items with the same price to a subscription.');
  // A metered item added mid-cycle bills usage from the time it was added (both modes); a
  // licensed one is charged for the rest of the period on the next invoice (proration).
  const item = makeItem(command.item, command.now, command.now, s.period.end);
  const pending =
    !isMetered(item.price) && command.proration_behavior !== 'none' && command.now < s.period.end
      ? [
          licensedLine(
            item,
            command.now,
            s.period.end,
            command.product_names?.[item.price.product] ?? item.price.product,
            prorationFraction(s, command.now, s.period.end),
          ),
        ]
      : [];
  return [{ type: 'SubscriptionItemAdded', data: { item, pending_lines: pending } }];
}

function findItem(s: SubscriptionState, id: string): SubscriptionItemState {
  const item = s.items.find((it) => it.id === id);
  if (!item) throw new DomainError('resource_missing', `No such subscription item: '${id}'`, { status: 404, param: 'id' });
  return item;
}

export function decideUpdateItem(command: CommandOf<'UpdateItem'>, s: SubscriptionState): SubscriptionEvent[] {
  if (s.status !== 'active') throw canceledError(s.id);
  const item = findItem(s, command.item);
  let next: SubscriptionItemState = { ...item, metadata: command.metadata ?? item.metadata };
  let pending: RatedLine[] = [];
  if (command.price && command.price.id !== item.price.id) {
    checkItem({ id: item.id, price: command.price, ...(command.quantity !== undefined ? { quantity: command.quantity } : {}) }, null, s);
    if (s.items.some((it) => it.id !== item.id && it.price.id === command.price!.id))
      throw invalid('price', 'Cannot add multiple subscription items with the same price to a subscription.');
    // Usage before the change: flexible bills it at the old price (unless proration_behavior=none);
    // classic does not bill it at all. Either way the item now bills from the change.
    if (isMetered(item.price) && s.billing_mode.type === 'flexible' && command.proration_behavior !== 'none') pending = command.usage_lines;
    next = {
      ...next,
      price: command.price,
      quantity: isMetered(command.price) ? null : (command.quantity ?? 1),
      current_period_start: isMetered(item.price) || isMetered(command.price) ? command.now : item.current_period_start,
    };
  } else if (command.quantity !== undefined) {
    if (isMetered(item.price)) throw invalid('quantity', 'Quantity should not be specified where usage_type is `metered`.');
    next = { ...next, quantity: command.quantity };
  }
  return [{ type: 'SubscriptionItemUpdated', data: { item: next, pending_lines: pending } }];
}

export function decideDeleteItem(command: CommandOf<'DeleteItem'>, s: SubscriptionState): SubscriptionEvent[] {
  if (s.status !== 'active') throw canceledError(s.id);
  const item = findItem(s, command.item);
  if (s.items.length === 1)
    throw invalid(
      'item',
      'A subscription must have at least one active plan. To cancel a subscription, please use the cancel API endpoint.',
    );
  const pending =
    isMetered(item.price) && s.billing_mode.type === 'flexible' && command.proration_behavior !== 'none' ? command.usage_lines : [];
  return [{ type: 'SubscriptionItemDeleted', data: { item: item.id, pending_lines: pending } }];
}
