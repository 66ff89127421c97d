import { decide, evolve, type SubscriptionCommand, type SubscriptionEvent } from './subscription.decider.js';
import { checkBillingThresholds } from './billing-threshold.js';
import {
  decideThreshold,
  licensedPerPeriod,
  evolveThreshold,
  nettedOfThresholds,
  type ThresholdCommand,
  type ThresholdEvent,
} from './subscription-threshold.js';
import type { SubscriptionState } from './subscription.types.js';

/** A command the subscription aggregate runs: the decider's, or billing thresholds' (subscription-threshold.ts). */
export type SubscriptionAnyCommand = SubscriptionCommand | ThresholdCommand;
export type SubscriptionAnyEvent = SubscriptionEvent | ThresholdEvent;

/**
 * The subscription decider the command pipeline runs. `Sequence` decides several commands as one
 * change (a period close and the acknowledgements of invoices invoicing accepted with it), so the
 * change is announced once, as today: one Stripe event per close.
 */
export type SubscriptionUnitCommand = SubscriptionAnyCommand | { type: 'Sequence'; commands: readonly SubscriptionAnyCommand[] };

const isThreshold = (c: SubscriptionAnyCommand): c is ThresholdCommand =>
  c.type === 'SetBillingThresholds' || c.type === 'InvoiceThreshold';

/** One command: threshold commands by their module, the others by the decider, with usage net of threshold invoices. */
function decideOne(c: SubscriptionAnyCommand, s: SubscriptionState | null): SubscriptionAnyEvent[] {
  if (isThreshold(c)) return decideThreshold(c, s);
  const events = decide(nettedOfThresholds(c, s), s);
  if (c.type === 'AddItem' || c.type === 'UpdateItem') keepThresholdFloor(events.reduce(evolve, s));
  return events;
}

/**
 * Stripe's floor for `amount_gte` (more than the licensed items cost per period, reference §4
 * "Billing thresholds", billing-threshold.ts) holds after an item change too: a change that would
 * break it is refused like setting such a threshold (docs/lifecycle.md "Billing thresholds").
 */
function keepThresholdFloor(s: SubscriptionState | null): void {
  const t = s?.billing_thresholds;
  if (s && t) checkBillingThresholds(t, licensedPerPeriod(s.items), s.currency);
}

function evolveAny(s: SubscriptionState | null, e: SubscriptionAnyEvent): SubscriptionState | null {
  return e.type === 'SubscriptionThresholdInvoiced' ? evolveThreshold(s, e) : evolve(s, e);
}

function decideUnit(command: SubscriptionUnitCommand, state: SubscriptionState | null): SubscriptionAnyEvent[] {
  if (command.type !== 'Sequence') return decideOne(command, state);
  const events: SubscriptionAnyEvent[] = [];
  let s = state;
  for (const c of command.commands) {
    const decided = decideOne(c, s);
    events.push(...decided);
    s = decided.reduce(evolveAny, s);
  }
  return events;
}

export const subscriptionDecider = {
  initialState: (): SubscriptionState | null => null,
  decide: decideUnit,
  evolve: evolveAny,
};
