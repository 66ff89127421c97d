import type { SubscriptionInvoiceItem } from '@meterflow/contracts';
import { DomainError, invalid } from '@meterflow/kernel';
import { licensedLine } from './rated-line.js';
import { isMetered } from './price.js';
import type { CommandOf, SubscriptionEvent } from './subscription.commands.js';
import {
  changeHandOver,
  ItemIds,
  licensedProrations,
  prorationAt,
  refuseStaleUsage,
  standingDebits,
  usageInvoiceItems,
} from './subscription.prorations.js';
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
  // What the addition charged stands as the item's debit for the period (flexible credits it back).
  const debits = isMetered(item.price)
    ? {}
    : { debits: pending.map((l) => ({ amount: l.amount, start: l.period.start, end: l.period.end, invoice_item: null })) };
  return [{ type: 'SubscriptionItemAdded', data: { item: { ...item, ...debits }, pending_lines: pending } }];
}

function findItem(s: SubscriptionState, id: string): SubscriptionItemState {
  const item = s.items.find((it) => it.id === id);
  if (!item) throw new DomainError('resource_missing', `No such subscription item: '${id}'`, { status: 404, param: 'id' });
  return item;
}

/** The change event's invoice items and their hand-over (none when the change made no item). */
function handedOver(s: SubscriptionState, command: CommandOf<'UpdateItem' | 'DeleteItem'>, items: SubscriptionInvoiceItem[]) {
  const invoice = changeHandOver(s, command.proration_behavior, command.now, items);
  return invoice ? { invoice_items: items, invoice } : {};
}

/**
 * A price or quantity change. Metered usage before a price change: flexible bills it at the old
 * price as an invoice item (unless proration_behavior=none), classic does not bill it; the item
 * bills from the change. A licensed item (before or after) is prorated: credit for the unused
 * time as it was, charge for the remaining time as it is (reference §4; subscription.prorations.ts).
 */
export function decideUpdateItem(command: CommandOf<'UpdateItem'>, s: SubscriptionState): SubscriptionEvent[] {
  if (s.status !== 'active') throw canceledError(s.id);
  const item = findItem(s, command.item);
  refuseStaleUsage(command.usage_lines, s, command.now);
  const at = prorationAt(s, command.now, command.proration_date);
  const ids = new ItemIds(command.invoice_item_ids ?? []);
  const prorating = command.proration_behavior !== 'none';
  let next: SubscriptionItemState = { ...item, metadata: command.metadata ?? item.metadata };
  const items: SubscriptionInvoiceItem[] = [];
  let changed = false;
  if (command.price && command.price.id !== item.price.id) {
    checkItem({ id: item.id, price: command.price, ...(command.quantity !== undefined ? { quantity: command.quantity } : {}) }, null, s);
    if (s.items.some((it) => it.id !== item.id && it.price.id === command.price!.id))
      throw invalid('price', 'Cannot add multiple subscription items with the same price to a subscription.');
    if (isMetered(item.price) && s.billing_mode.type === 'flexible' && prorating)
      items.push(...usageInvoiceItems(command.usage_lines, ids));
    next = {
      ...next,
      price: command.price,
      quantity: isMetered(command.price) ? null : (command.quantity ?? 1),
      current_period_start: isMetered(item.price) || isMetered(command.price) ? command.now : item.current_period_start,
    };
    changed = true;
  } else if (command.quantity !== undefined) {
    if (isMetered(item.price)) throw invalid('quantity', 'Quantity should not be specified where usage_type is `metered`.');
    next = { ...next, quantity: command.quantity };
    changed = command.quantity !== item.quantity;
  }
  const licensed = !isMetered(item.price) || !isMetered(next.price);
  if (changed && licensed) {
    if (prorating) {
      const p = licensedProrations(s, item, next, at, ids, command.product_names ?? {});
      items.push(...p.items);
      next = withDebits(next, p.debits);
    } else {
      // Nothing charged or credited: what was debited for the period still stands.
      next = withDebits(next, isMetered(item.price) || isMetered(next.price) ? undefined : storedDebits(s, item));
    }
  }
  return [{ type: 'SubscriptionItemUpdated', data: { item: next, pending_lines: [], ...handedOver(s, command, items) } }];
}

const storedDebits = (s: SubscriptionState, it: SubscriptionItemState): SubscriptionItemState['debits'] =>
  standingDebits(s, it).map((d) => ({ ...d, amount: Number(d.amount) }));

function withDebits(it: SubscriptionItemState, debits: SubscriptionItemState['debits']): SubscriptionItemState {
  const { debits: _old, ...rest } = it;
  return debits === undefined || isMetered(it.price) ? rest : { ...rest, debits };
}

export function decideDeleteItem(command: CommandOf<'DeleteItem'>, s: SubscriptionState): SubscriptionEvent[] {
  if (s.status !== 'active') throw canceledError(s.id);
  const item = findItem(s, command.item);
  if (s.items.length === 1)
    throw invalid(
      'item',
      'A subscription must have at least one active plan. To cancel a subscription, please use the cancel API endpoint.',
    );
  refuseStaleUsage(command.usage_lines, s, command.now);
  const at = prorationAt(s, command.now, command.proration_date);
  const ids = new ItemIds(command.invoice_item_ids ?? []);
  const items: SubscriptionInvoiceItem[] = [];
  if (command.proration_behavior !== 'none') {
    // flexible: the removed metered price's usage so far; licensed: credit for the unused time.
    if (isMetered(item.price)) {
      if (s.billing_mode.type === 'flexible') items.push(...usageInvoiceItems(command.usage_lines, ids));
    } else items.push(...licensedProrations(s, item, null, at, ids, command.product_names ?? {}).items);
  }
  return [{ type: 'SubscriptionItemDeleted', data: { item: item.id, pending_lines: [], ...handedOver(s, command, items) } }];
}
