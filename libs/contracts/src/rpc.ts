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
  /**
   * For routes whose key is claimed by the service (`ApiRoute.idempotency: 'service'`): the claim
   * the gateway would have made (the key's scope, the request's method, path and parameter hash).
   * The op stores it with its change and answers a repeat with an `IdempotentReplay`.
   */
  idempotency: z.object({ scope: z.string(), key: z.string(), method: z.string(), path: z.string(), paramsHash: z.string() }).optional(),
});
export type ApiRequest = z.infer<typeof ApiRequest>;
export type IdempotencyClaimRequest = NonNullable<ApiRequest['idempotency']>;

/** The `object` of an `IdempotentReplay`: no Stripe object has it. */
export const IDEMPOTENT_REPLAY_OBJECT = 'meterflow.idempotent_replay';
/**
 * What an op answers to a request carrying `idempotency` whose key already holds a stored
 * response: that response (status and body as first sent), for the gateway to replay.
 */
export const IdempotentReplay = z.object({
  object: z.literal(IDEMPOTENT_REPLAY_OBJECT),
  status: z.number().int(),
  body: z.string(),
});
export type IdempotentReplay = z.infer<typeof IdempotentReplay>;

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
