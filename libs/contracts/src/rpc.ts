import type { ErrorShape } from '@meterflow/kernel';

/**
 * What the gateway sends a service for one API call: the decoded parameters (body for POST,
 * query for GET/DELETE, without `expand`), the path parameters, and request facts.
 */
export interface ApiRequest {
  params: Record<string, unknown>;
  path: Record<string, string>;
  requestId: string;
  livemode: false;
  /** Parsed Stripe-Version header, if any. */
  apiVersion?: string;
  /** For routes authenticated by a meter event session: the Bearer token as sent. */
  sessionToken?: string;
  /** The request's Idempotency-Key, if any (Stripe events echo it in `request`). */
  idempotencyKey?: string;
}

/** Every reply on a request/reply subject. */
export type RpcReply<T = unknown> = { ok: true; result: T } | { ok: false; error: ErrorShape };

/** Headers carried on every NATS message we send. */
export const HEADERS = {
  traceparent: 'traceparent',
  correlationId: 'mf-correlation-id',
  causationId: 'mf-causation-id',
  msgId: 'Nats-Msg-Id',
} as const;
