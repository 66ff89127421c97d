import { z } from 'zod';

/**
 * One schema value per event type; the TypeScript type is inferred from it, never written twice.
 *   export const CreditGrantCreated = defineEvent('CreditGrantCreated', 1, z.object({...}));
 *   type CreditGrantCreated = EventOf<typeof CreditGrantCreated>;
 */
export interface EventDefinition<T extends string, S extends z.ZodTypeAny> {
  readonly type: T;
  readonly schemaVersion: number;
  readonly schema: S;
  /** Build an event of this type, validating its data. */
  (data: z.input<S>): { type: T; schemaVersion: number; data: z.output<S> };
}

export function defineEvent<T extends string, S extends z.ZodTypeAny>(type: T, schemaVersion: number, schema: S): EventDefinition<T, S> {
  const make = ((data: z.input<S>) => ({ type, schemaVersion, data: schema.parse(data) })) as EventDefinition<T, S>;
  Object.defineProperties(make, {
    type: { value: type },
    schemaVersion: { value: schemaVersion },
    schema: { value: schema },
  });
  return make;
}

export type EventOf<D> = D extends EventDefinition<infer T, infer S> ? { type: T; data: z.output<S> } : never;

/**
 * A service's events by type: the contract its event store enforces on every append (an event
 * of an unknown type, or whose data does not match, is refused before it is written).
 * `StripeEventEmitted` and `StripeEventAnnounced` belong to every catalogue.
 */
export type EventCatalog = ReadonlyMap<string, EventDefinition<string, z.ZodTypeAny>>;

export function eventCatalog(definitions: readonly EventDefinition<string, z.ZodTypeAny>[]): EventCatalog {
  const byType = new Map<string, EventDefinition<string, z.ZodTypeAny>>([
    [StripeEventEmitted.type, StripeEventEmitted],
    [StripeEventAnnounced.type, StripeEventAnnounced],
  ]);
  for (const d of definitions) {
    if (byType.has(d.type)) throw new Error(`eventCatalog: '${d.type}' is defined twice`);
    byType.set(d.type, d);
  }
  return byType;
}

/** Why `data` is not a valid `type` event under `catalog`, or null when it is. */
export function eventContractViolation(catalog: EventCatalog, type: string, data: unknown): string | null {
  const def = catalog.get(type);
  if (!def) return `unknown event type '${type}'`;
  const r = def.schema.safeParse(data);
  if (r.success) return null;
  return r.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(data)'}: ${i.message}`)
    .join('; ');
}

/** Metadata every stored and published event carries. */
export const EventMetadata = z.object({
  eventId: z.string(),
  streamId: z.string(),
  occurredAt: z.string(),
  causationId: z.string().optional(),
  correlationId: z.string().optional(),
  traceparent: z.string().optional(),
});
export type EventMetadata = z.infer<typeof EventMetadata>;

/** The envelope of a domain event on a service's internal stream (`mf.svc.<service>.<type>`). */
export const EventEnvelope = z.object({
  type: z.string(),
  schemaVersion: z.number().int(),
  data: z.unknown(),
  metadata: EventMetadata,
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/**
 * A Stripe `event` object is itself a fact: a service records `StripeEventEmitted` in the same
 * transaction as the change it describes, and the outbox relay publishes it on
 * `mf.events.<type>` with `Nats-Msg-Id` = the `evt_` id.
 */
export const STRIPE_EVENT_EMITTED = 'StripeEventEmitted';
export const StripeEventEmitted = defineEvent(
  STRIPE_EVENT_EMITTED,
  1,
  z.object({
    id: z.string().startsWith('evt_'),
    object: z.literal('event'),
    api_version: z.string(),
    created: z.number().int(),
    data: z.object({ object: z.record(z.string(), z.unknown()), previous_attributes: z.record(z.string(), z.unknown()).optional() }),
    livemode: z.boolean(),
    pending_webhooks: z.number().int(),
    request: z.object({ id: z.string().nullable(), idempotency_key: z.string().nullable() }),
    type: z.string(),
  }),
);

/**
 * A Stripe event stored as its facts only: its id, type, time and request. Its `data.object` is
 * the stream's own aggregate right after the event stored before this one (and, for `*.updated`,
 * `previous_attributes` what changed with the announced change: the event stored before this one,
 * or, with `since`, every event after stream version `since`), rendered from the stream by the
 * service's outbox relay when it publishes the event (libs/event-store `announcementRenderer`).
 * Published, it is the same Stripe `event` object a `StripeEventEmitted` would carry; stored, it
 * is ~0.2 kB instead of the whole object. Never folded by the aggregate.
 */
export const STRIPE_EVENT_ANNOUNCED = 'StripeEventAnnounced';
export const StripeEventAnnounced = defineEvent(
  STRIPE_EVENT_ANNOUNCED,
  1,
  z.object({
    id: z.string().startsWith('evt_'),
    type: z.string(),
    created: z.number().int(),
    request: z.object({ id: z.string().nullable(), idempotency_key: z.string().nullable() }),
    /** The stream version the announced change started from, when it is more than the one event before. */
    since: z.number().int().nonnegative().optional(),
  }),
);

/** The API version our objects are rendered in (the one the pinned `stripe` SDK speaks). */
export const API_VERSION = '2026-07-29.dahlia';

/** Producers' contract on `mf.ingest.meter_events[.<token>]`: a v2 meter_event_stream body. */
export const IngestMeterEvent = z.object({
  event_name: z.string(),
  payload: z.record(z.string(), z.string()),
  identifier: z.string().optional(),
  /** RFC 3339. Defaults to the time of receipt. */
  timestamp: z.string().optional(),
});
export const IngestBatch = z.object({ events: z.array(z.unknown()).min(1).max(100) });
export type IngestMeterEvent = z.infer<typeof IngestMeterEvent>;

/**
 * Build the `StripeEventEmitted` fact for a Stripe event about `object`. Not parsed here: the
 * relay renders every published event through this (a zod pass over the whole invoice was ~8% of
 * invoicing's CPU in the period close), and a stored one is checked against the catalog by the
 * event store's append. The shape is the schema's by construction (typed below).
 */
export function stripeEvent(
  id: string,
  type: string,
  object: Record<string, unknown>,
  created: number,
  opts: { previousAttributes?: Record<string, unknown>; requestId?: string | null; idempotencyKey?: string | null } = {},
): ReturnType<typeof StripeEventEmitted> {
  return {
    type: STRIPE_EVENT_EMITTED,
    schemaVersion: StripeEventEmitted.schemaVersion,
    data: {
      id,
      object: 'event',
      api_version: API_VERSION,
      created,
      data: { object, ...(opts.previousAttributes ? { previous_attributes: opts.previousAttributes } : {}) },
      livemode: false,
      pending_webhooks: 0,
      request: { id: opts.requestId ?? null, idempotency_key: opts.idempotencyKey ?? null },
      type,
    },
  };
}
