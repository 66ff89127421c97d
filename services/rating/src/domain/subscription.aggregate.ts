import { decide, evolve, type SubscriptionCommand, type SubscriptionEvent } from './subscription.decider.js';
import type { SubscriptionState } from './subscription.types.js';

/**
 * The subscription decider the command pipeline runs. `Sequence` decides several commands as one
 * change (a period close and the acknowledgements of invoices invoicing accepted with it), so the
 * change is announced once, as today: one Stripe event per close.
 */
export type SubscriptionUnitCommand = SubscriptionCommand | { type: 'Sequence'; commands: readonly SubscriptionCommand[] };

function decideUnit(command: SubscriptionUnitCommand, state: SubscriptionState | null): SubscriptionEvent[] {
  if (command.type !== 'Sequence') return decide(command, state);
  const events: SubscriptionEvent[] = [];
  let s = state;
  for (const c of command.commands) {
    const decided = decide(c, s);
    events.push(...decided);
    s = decided.reduce(evolve, s);
  }
  return events;
}

export const subscriptionDecider = {
  initialState: (): SubscriptionState | null => null,
  decide: decideUnit,
  evolve,
};
