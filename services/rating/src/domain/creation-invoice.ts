import type { RatedLine } from '@meterflow/contracts';
import { meteredLine } from './rated-line.js';
import { isMetered } from './price.js';
import type { BillingModeType, ProrationBehavior, SubscriptionItemState } from './subscription.types.js';

/*
 * What the `subscription_create` invoice of a new subscription bills for its metered items
 * (licensed items are billed in advance beside them, see subscription.decider.ts).
 *
 * - classic: one 0-amount line per metered item for [start, first period end); the invoice
 *   is issued even when every item is metered (reference §4 "Adding a metered item: classic
 *   emits a 0-amount line (and maybe a 0 invoice)"; issue 8 item 1).
 * - flexible: no zero-amount line and no empty invoice (reference §4). With
 *   `backdate_start_date`, the usage of [backdate, creation) is billed here, each item's usage
 *   rated on its own (seed 001 "遡及適用するサブスクリプションを作成する": flexible puts the
 *   backdated usage on the subscription's first invoice); `proration_behavior=none` bills none
 *   of it (reference §4 backdate_start_date).
 */

/** Whether the usage of [backdate, now) is billed at creation: the caller rates it then. */
export function billsBackdatedUsageAtCreation(
  mode: BillingModeType,
  backdate: number | undefined,
  now: number,
  proration: ProrationBehavior | undefined,
): boolean {
  return mode === 'flexible' && backdate !== undefined && backdate < now && proration !== 'none';
}

/** Where the first period (and each item's usage window) starts. */
export function firstPeriodStart(mode: BillingModeType, backdate: number | undefined, now: number): number {
  if (backdate === undefined) return now;
  // flexible bills [backdate, now) on its own at creation (or not at all with proration none):
  // the first period runs from creation. classic bills it with the first cycle.
  return mode === 'flexible' ? now : backdate;
}

/**
 * The metered lines of the creation invoice. `backdated` are the caller's ratings of each
 * metered item's usage over [backdate, now) (flexible only; ignored otherwise).
 */
export function creationMeteredLines(args: {
  mode: BillingModeType;
  items: readonly SubscriptionItemState[];
  start: number;
  end: number;
  proration: ProrationBehavior | undefined;
  backdated: readonly RatedLine[] | undefined;
  productName: (product: string) => string;
}): RatedLine[] {
  const metered = args.items.filter((it) => isMetered(it.price));
  if (args.mode === 'classic')
    return metered.map((it) =>
      meteredLine({ subscription_item: it.id, price: it.price, start: args.start, end: args.end }, '0', args.productName(it.price.product)),
    );
  if (args.proration === 'none' || !args.backdated) return [];
  const ids = new Set(metered.map((it) => it.id));
  // Flexible issues no zero-amount line: an item with no backdated usage bills nothing here.
  return args.backdated.filter((l) => ids.has(l.subscription_item) && l.quantity > 0);
}
