import type { ApiRequest } from '@meterflow/contracts';
import { stripeEvent } from '@meterflow/contracts';
import type { NewEvent } from '@meterflow/event-store';
import { newId } from '@meterflow/kernel';

/** A Stripe `event` about `object`, recorded with the change it describes. */
export function fact(
  type: string,
  object: object,
  created: number,
  req?: Pick<ApiRequest, 'requestId' | 'idempotencyKey'>,
  previousAttributes?: Record<string, unknown>,
): NewEvent {
  return stripeEvent(newId('event'), type, object as Record<string, unknown>, created, {
    requestId: req?.requestId ?? null,
    idempotencyKey: req?.idempotencyKey ?? null,
    ...(previousAttributes ? { previousAttributes } : {}),
  });
}
