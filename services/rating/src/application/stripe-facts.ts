import type { ApiRequest } from '@meterflow/contracts';
import { stripeEvent } from '@meterflow/contracts';
import { announceStripeEvent, type CommandContext, type NewEvent, type StripeEventRendering } from '@meterflow/event-store';
import { newId } from '@meterflow/kernel';
import { attributesChanged, previousAttributes } from '../domain/catalog.events.js';
import { subscriptionDecider, type SubscriptionAnyEvent } from '../domain/subscription.aggregate.js';
import type { SubscriptionState } from '../domain/subscription.types.js';
import { toStripeSubscription } from '../domain/subscription.view.js';

/** A Stripe `event` about `object`, recorded with the change it describes. */
export function fact(
  type: string,
  object: object,
  created: number,
  req?: Partial<Pick<ApiRequest, 'requestId' | 'idempotencyKey'>> | { requestId?: string | null; idempotencyKey?: string | null },
  previousAttributes?: Record<string, unknown>,
): NewEvent {
  return stripeEvent(newId('event'), type, object as Record<string, unknown>, created, {
    requestId: req?.requestId ?? null,
    idempotencyKey: req?.idempotencyKey ?? null,
    ...(previousAttributes ? { previousAttributes } : {}),
  });
}

/**
 * The Stripe events of a subscription change, from the states before and after the command,
 * stored as their facts only (`StripeEventAnnounced`, with `since`: the stream version the
 * command started from); the relay renders the subscription from the stream when it publishes
 * them (`subscriptionEventRendering`), instead of ~1.8 kB stored per period close.
 */
export function subscriptionFacts(
  before: SubscriptionState | null,
  after: SubscriptionState | null,
  at: number,
  since: number,
  ctx: CommandContext = {},
): NewEvent[] {
  if (!after) return [];
  if (!before) return [announceStripeEvent('customer.subscription.created', at, ctx, since)];
  if (before.status !== 'canceled' && after.status === 'canceled')
    return [announceStripeEvent('customer.subscription.deleted', at, ctx, since)];
  if (!attributesChanged(toStripeSubscription(before), toStripeSubscription(after))) return [];
  return [announceStripeEvent('customer.subscription.updated', at, ctx, since)];
}

/** `previous_attributes` of a `customer.subscription.updated`: the old values of the fields that changed. */
const subscriptionChange = (before: NonNullable<SubscriptionState>, object: ReturnType<typeof toStripeSubscription>) =>
  previousAttributes(toStripeSubscription(before), object);

/**
 * How the relay renders an announced `customer.subscription.*` event: `data.object` is the
 * subscription after the command, and `customer.subscription.updated` carries as
 * `previous_attributes` what the command changed (exactly what was announced at decide time).
 */
export const subscriptionEventRendering: StripeEventRendering<SubscriptionState | null, SubscriptionAnyEvent> = {
  renders: (type) => type.startsWith('customer.subscription.'),
  aggregate: { name: 'subscription', decider: subscriptionDecider },
  render: (type, { before, after }) => {
    if (!after) throw new Error(`subscription: nothing to render for ${type}`);
    const object = toStripeSubscription(after);
    if (type !== 'customer.subscription.updated' || !before) return { object };
    return { object, previousAttributes: subscriptionChange(before, object) };
  },
};

/** The pipeline context of an API request: its ids go into the Stripe events' `request`. */
export const requestContext = (req?: Pick<ApiRequest, 'requestId' | 'idempotencyKey'>): CommandContext =>
  req ? { requestId: req.requestId, idempotencyKey: req.idempotencyKey ?? null } : {};
