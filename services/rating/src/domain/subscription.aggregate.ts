import { decide, evolve, type SubscriptionCommand, type SubscriptionEvent } from './subscription.decider.js';
import {
  decideThreshold,
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
  return isThreshold(c) ? decideThreshold(c, s) : decide(nettedOfThresholds(c, s), s);
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
