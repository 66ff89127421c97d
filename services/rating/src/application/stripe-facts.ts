import type { ApiRequest } from '@meterflow/contracts';
import { stripeEvent } from '@meterflow/contracts';
import type { CommandContext, NewEvent } from '@meterflow/event-store';
import { newId } from '@meterflow/kernel';
import { previousAttributes } from '../domain/catalog.events.js';
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

/** Stripe events for a subscription change, from the states before and after. */
export function subscriptionFacts(
  before: SubscriptionState | null,
  after: SubscriptionState | null,
  at: number,
  req?: { requestId?: string | null; idempotencyKey?: string | null },
): NewEvent[] {
  if (!after) return [];
  const obj = toStripeSubscription(after);
  if (!before) return [fact('customer.subscription.created', obj, at, req)];
  if (before.status !== 'canceled' && after.status === 'canceled') return [fact('customer.subscription.deleted', obj, at, req)];
  const previous = previousAttributes(toStripeSubscription(before), obj);
  if (Object.keys(previous).length === 0) return [];
  return [fact('customer.subscription.updated', obj, at, req, previous)];
}

/** The pipeline context of an API request: its ids go into the Stripe events' `request`. */
export const requestContext = (req?: Pick<ApiRequest, 'requestId' | 'idempotencyKey'>): CommandContext =>
  req ? { requestId: req.requestId, idempotencyKey: req.idempotencyKey ?? null } : {};
