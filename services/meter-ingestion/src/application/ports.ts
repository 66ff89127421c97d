import type { Transaction } from '@meterflow/event-store';
import type { IdempotencyClaimRequest } from '@meterflow/contracts';
import type { ListParams, StoredIdempotency, StripeList } from '@meterflow/stripe-api';
import type { Alert } from '../domain/alert.decider.js';
import type { ErrorReport } from '../domain/error-report.js';
import type { EventTimeWindow, Meter } from '../domain/meter.types.js';
import type { StoredEvent } from '../domain/usage.rollup.js';

/**
 * What the application needs from the outside, declared here and implemented by adapters/
 * (wired in meter-ingestion.module.ts by these Symbol tokens). Writes of events go through the
 * `CommandPipeline` of @meterflow/event-store; read models are projected in its transaction.
 */

/** The transaction of a unit of work (read models are written in it). */
export type Tx = Transaction;

// ---- meters ------------------------------------------------------------------------------------

export const METER_READ_MODEL = Symbol('METER_READ_MODEL');
/** The `meters` read model. */
export interface MeterReadModel {
  /** Upsert inside the append's transaction; a second meter with the same event_name fails (23505). */
  save(tx: Tx, meter: Meter, version: number): Promise<void>;
  get(id: string): Promise<Meter | undefined>;
  all(): Promise<Meter[]>;
  list(status: string | undefined, lp: ListParams, url: string): Promise<StripeList<Meter>>;
}

// ---- usage alerts ------------------------------------------------------------------------------

export const ALERT_READ_MODEL = Symbol('ALERT_READ_MODEL');
/** The `alerts` read model and the record of which customer triggered which alert. */
export interface AlertReadModel {
  save(tx: Tx, alert: Alert, version: number): Promise<void>;
  get(id: string): Promise<Alert | undefined>;
  active(): Promise<Alert[]>;
  list(meterId: string | undefined, lp: ListParams, url: string): Promise<StripeList<Alert>>;
  /** `alertId|customer` of the pairs that already triggered. */
  triggered(alertIds: string[], customers: string[]): Promise<Set<string>>;
  /** False when this customer already triggered the alert (one_time). */
  recordTrigger(tx: Tx, alertId: string, customer: string, value: bigint, at: number): Promise<boolean>;
}

// ---- the usage store (accepted meter events: their own log and rollups, not the event store) --

/**
 * An Idempotency-Key claimed with an event (`ApiRoute.idempotency: 'service'`): stored with the
 * response for it in the event's transaction when the event is stored and counted.
 */
export interface KeyedResponse extends IdempotencyClaimRequest {
  status: number;
  body: string;
}

/** An accepted meter event as the writer stores it. */
export interface EventToStore extends StoredEvent {
  receivedAt: number;
  payload: Record<string, string>;
  /** Its request's Idempotency-Key claim (at most one event per key in a batch). */
  keyed?: KeyedResponse;
}

/** What a batch's write did. */
export interface WriteResult {
  /** The identifiers that were new, stored and counted (the others were duplicates). */
  fresh: Set<string>;
  /**
   * Keyed events not stored because their key already holds a live record (by `scope\0key`):
   * that record, for the request to be replayed or refused.
   */
  taken: Map<string, StoredIdempotency>;
}

export const idempotencyId = (k: { scope: string; key: string }): string => `${k.scope}\0${k.key}`;

export const USAGE_WRITER = Symbol('USAGE_WRITER');
export interface UsageWriter {
  /**
   * Store a batch in one transaction: new events (not duplicates inside the batch or of events
   * stored within the identifier window) are stored and counted; a keyed event whose key holds a
   * live record (24 h) is not, and its key is claimed with its response when it is.
   */
  write(events: readonly EventToStore[], windowOf: (meterId: string) => EventTimeWindow | null): Promise<WriteResult>;
}

export interface UsageWindowQuery {
  key: string;
  meterId: string;
  customer: string;
  start: number;
  end: number;
}

export interface UsageAggregate {
  sum: bigint;
  count: bigint;
  last: bigint;
}

export const USAGE_READER = Symbol('USAGE_READER');
export interface UsageReader {
  /** Aggregates of raw meters over [start, end). */
  usageRaw(queries: readonly UsageWindowQuery[]): Promise<Map<string, UsageAggregate>>;
  /** Aggregates of pre-aggregated meters (the surviving event of each bucket). */
  usageWindowed(queries: readonly UsageWindowQuery[]): Promise<Map<string, UsageAggregate>>;
}

/** A stored event's identifier, as the dedupe index remembers it (within the identifier window). */
export interface IdentifierRecord {
  identifier: string;
  meterId: string;
  customer: string;
  value: bigint;
  ts: number;
  seq: bigint;
  receivedAt: number;
  cancelled: boolean;
}

export const USAGE_ADJUSTER = Symbol('USAGE_ADJUSTER');
export interface UsageAdjuster {
  findIdentifier(identifier: string): Promise<IdentifierRecord | undefined>;
  /** Take a stored event out of usage (rollups corrected exactly), in `tx`. False when it was already cancelled. */
  cancel(tx: Tx, rec: IdentifierRecord, window: EventTimeWindow | null, at: number): Promise<boolean>;
}

// ---- rejected events ---------------------------------------------------------------------------

export interface DeadLetter {
  subject: string;
  messageId: string | null;
  data: string;
  reason: string;
}

export const REJECTIONS = Symbol('REJECTIONS');
export interface Rejections {
  /** Dead letters and the window's Stripe error reports, in one transaction. */
  record(deadLetters: readonly DeadLetter[], reports: readonly ErrorReport[], created: number): Promise<void>;
}
