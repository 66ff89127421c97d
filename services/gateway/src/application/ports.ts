import type { AggregateType } from '@meterflow/event-store';
import type { ServiceName } from '@meterflow/contracts';
import type { StoredIdempotency, ListParams, StripeList, RangeFilter } from '@meterflow/stripe-api';
import type { WebhookEndpointCommand, WebhookEndpointState } from '../domain/webhook-endpoint.decider.js';
import type { WebhookEndpointEvent } from '@meterflow/contracts';

/**
 * The ports the gateway's application layer declares; adapters implement them and
 * `gateway.module.ts` binds them to these tokens.
 */

// ---- idempotency keys (adapters/persistence/idempotency.store.ts) ----

export interface IdempotencyClaim {
  scope: string;
  key: string;
  method: string;
  path: string;
  paramsHash: string;
}

/** `claimed`: this request owns the key. Otherwise what is stored (undefined: row not visible yet). */
export type ClaimOutcome = { claimed: true } | { claimed: false; stored: StoredIdempotency | undefined };

export interface IdempotencyStore {
  claim(c: IdempotencyClaim): Promise<ClaimOutcome>;
  complete(scope: string, key: string, status: number, body: string): Promise<void>;
  release(scope: string, key: string): Promise<void>;
  /** Drop an expired or abandoned record (created at `createdAt`) so the key can be claimed again. */
  forgetExpired(scope: string, key: string, createdAt: Date): Promise<void>;
  prune(olderThan: Date, chunk?: number): Promise<number>;
}

export const IDEMPOTENCY_STORE = Symbol('IDEMPOTENCY_STORE');

// ---- the services behind the API (adapters/nats/service-caller.ts) ----

/**
 * Calls a service op and hands back the result as the JSON text the service produced: the
 * gateway's hot path forwards it to the client without parsing and re-serialising it.
 */
export interface ServiceCaller {
  /** `payload` is JSON text; returns the `result` JSON text or throws the service's DomainError. */
  callRaw(service: ServiceName, op: string, payload: string): Promise<string>;
  close?(): void;
}

export const SERVICE_CALLER = Symbol('SERVICE_CALLER');

// ---- webhook endpoints (adapters/persistence/webhook-endpoints.repository.ts) ----

export type WebhookEndpointType = AggregateType<WebhookEndpointState | null, WebhookEndpointCommand, WebhookEndpointEvent>;

/** The aggregate type (decider + read-model projection) the command pipeline writes endpoints through. */
export const WEBHOOK_ENDPOINT_TYPE = Symbol('WEBHOOK_ENDPOINT_TYPE');

export interface WebhookEndpointReads {
  get(id: string): Promise<WebhookEndpointState | undefined>;
  list(lp: ListParams): Promise<StripeList<WebhookEndpointState>>;
}

export const WEBHOOK_ENDPOINT_READS = Symbol('WEBHOOK_ENDPOINT_READS');

// ---- the events API (adapters/persistence/event-log.store.ts) ----

export interface EventFilter {
  types?: readonly string[];
  /** A `type` with `*` wildcards (`invoice.*`). */
  typePattern?: string;
  created?: RangeFilter;
  deliverySuccess?: boolean;
  /** Only events received after this (retention). */
  receivedAfter: Date;
}

/**
 * A Stripe event as consumed from MF_EVENTS: what its headers and subject say. Its body stays in
 * the stream, read by sequence when the events API or a webhook needs it (`EventBodies`).
 */
export interface IncomingEvent {
  id: string;
  type: string;
  created: number;
  /** Where MF_EVENTS holds the event JSON as published. */
  streamSeq: number;
  /** The W3C trace of the change it reports (from its NATS headers). */
  traceparent?: string;
}

/** The bodies of Stripe events, by their MF_EVENTS sequence (adapters/nats/event-bodies.ts). */
export interface EventBodies {
  /** Each sequence's event JSON as published; a sequence the stream no longer holds is absent. */
  load(seqs: readonly number[]): Promise<Map<number, string>>;
}

export const EVENT_BODIES = Symbol('EVENT_BODIES');

export interface EventLog {
  /** Keep the events (once each) and queue a delivery to every enabled endpoint subscribed; returns the deliveries queued. */
  record(events: readonly IncomingEvent[], now: Date): Promise<number>;
  /** Stripe `event` objects, with `pending_webhooks` as of now. */
  list(filter: EventFilter, lp: ListParams): Promise<StripeList<Record<string, unknown>>>;
  retrieve(id: string, receivedAfter: Date): Promise<Record<string, unknown> | undefined>;
  /** Forget events received before `before` (and their deliveries). */
  prune(before: Date): Promise<number>;
}

export const EVENT_LOG = Symbol('EVENT_LOG');

// ---- webhook deliveries (adapters/persistence/event-log.store.ts, adapters/http/webhook.sender.ts) ----

export interface ClaimedDelivery {
  eventId: string;
  endpointId: string;
  url: string;
  /** Every secret that signs it now: the endpoint's, and the previous one while a roll overlaps. */
  secrets: string[];
  /** The event JSON as published. */
  body: string;
  traceparent: string | null;
  /** Failed attempts so far. */
  attempts: number;
  firstAttemptAt: Date | null;
  /** Endpoints still waiting for this event (this one included). */
  pendingWebhooks: number;
}

export interface AttemptResult {
  at: Date;
  durationMs: number;
  /** HTTP status, when the endpoint answered. */
  status: number | null;
  error: string | null;
}

export interface DeliveryQueue {
  /** Enabled endpoints that have deliveries due at `now`. */
  endpointsWithDueWork(now: Date): Promise<string[]>;
  /** Lease up to `free` due deliveries of each endpoint until `leaseUntil` (another replica skips them). */
  claim(slots: readonly { endpointId: string; free: number }[], now: Date, leaseUntil: Date): Promise<ClaimedDelivery[]>;
  /** Record the attempt; `next` = when to try again, null with `succeeded: false` = failed for good. */
  settle(d: ClaimedDelivery, attempt: AttemptResult, outcome: { succeeded: true } | { succeeded: false; next: Date | null }): Promise<void>;
}

export const DELIVERY_QUEUE = Symbol('DELIVERY_QUEUE');

export interface WebhookSender {
  /** POST `body`; resolves with the status (any) or the network error / timeout, never throws. */
  post(
    url: string,
    body: string,
    headers: Record<string, string>,
    timeoutMs: number,
  ): Promise<{ status: number | null; error: string | null }>;
}

export const WEBHOOK_SENDER = Symbol('WEBHOOK_SENDER');
