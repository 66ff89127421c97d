import { z } from 'zod';
import type { ErrorShape } from '@meterflow/kernel';

/**
 * What the gateway sends a service for one API call: the decoded parameters (body for POST,
 * query for GET/DELETE, without `expand`), the path parameters, and request facts.
 * The schema documents the envelope; handlers do not parse it per request (the API path is hot:
 * meter events at thousands of requests a second). Parameters are validated by each op.
 */
export const ApiRequest = z.object({
  params: z.record(z.string(), z.unknown()),
  path: z.record(z.string(), z.string()),
  requestId: z.string().min(1),
  livemode: z.literal(false),
  /** Parsed Stripe-Version header, if any. */
  apiVersion: z.string().optional(),
  /** For routes authenticated by a meter event session: the Bearer token as sent. */
  sessionToken: z.string().optional(),
  /** The request's Idempotency-Key, if any (Stripe events echo it in `request`). */
  idempotencyKey: z.string().optional(),
});
export type ApiRequest = z.infer<typeof ApiRequest>;

/** The error half of a reply: kernel's `ErrorShape` (a DomainError crossing the wire). */
export const RpcError = z.object({
  type: z.enum(['api_error', 'card_error', 'idempotency_error', 'invalid_request_error']),
  code: z.string().optional(),
  message: z.string(),
  param: z.string().optional(),
  status: z.number().int().min(100).max(599),
}) satisfies z.ZodType<ErrorShape>;

/** The reply schema for an op whose result is `result`: `{ok:true,result}` | `{ok:false,error}`. */
export const rpcReply = <R extends z.ZodType>(result: R) =>
  z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), result }), z.object({ ok: z.literal(false), error: RpcError })]);

/** Any reply (result not checked). */
export const RpcReply = rpcReply(z.unknown());
/** Every reply on a request/reply subject. */
export type RpcReply<T = unknown> = z.infer<ReturnType<typeof rpcReply<z.ZodType<T>>>>;

/** Headers carried on every NATS message we send. */
export const HEADERS = {
  traceparent: 'traceparent',
  correlationId: 'mf-correlation-id',
  causationId: 'mf-causation-id',
  msgId: 'Nats-Msg-Id',
  /**
   * On a request: "publish an empty message to `mf-heartbeat-subject` every N ms while you work
   * on it" (RpcClient's `heartbeatMs`). A caller of long work notices a responder that died within
   * seconds instead of at its timeout.
   */
  heartbeat: 'mf-heartbeat',
  heartbeatSubject: 'mf-heartbeat-subject',
  /**
   * On a Stripe event on MF_EVENTS: its `created` (unix seconds). With `Nats-Msg-Id` (its id) and
   * the subject (`mf.events.<type>`), a consumer knows the event without reading the body.
   */
  stripeCreated: 'mf-stripe-created',
} as const;
