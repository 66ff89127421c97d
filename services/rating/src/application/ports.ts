import type { Change, Loaded, Queryable, Transaction } from '@meterflow/event-store';
import type { ListParams, StripeList } from '@meterflow/stripe-api';
import type { Recurrence } from '../domain/billing-period.js';
import type { CustomerObject, ProductObject } from '../domain/catalog.events.js';
import type { SearchQuery } from '../domain/customer-search.js';
import type { PriceObject } from '../domain/price.js';
import type { CustomerState } from '../domain/customer.decider.js';
import type { PriceState } from '../domain/price.decider.js';
import type { ProductState } from '../domain/product.decider.js';
import type { SubscriptionState } from '../domain/subscription.types.js';
import type { TestClockState } from '../domain/test-clock.decider.js';

/**
 * What rating's application needs from the outside, declared here; adapters implement it and
 * rating.module.ts wires it. (Libraries — the event store's `CommandPipeline`, the RPC client —
 * are used as they are.)
 */

/**
 * One aggregate kind's read model: a row per object with its folded state and the stream version
 * it reflects. It is the pipeline's snapshot (`snapshot`) and projection (`project`), and what
 * queries read outside a unit (`get`, `getMany`).
 */
export interface ReadModel<S> {
  snapshot(db: Queryable, ids: readonly string[]): Promise<Map<string, Loaded<S>>>;
  project(tx: Transaction, changes: readonly Change<S>[]): Promise<void>;
  /** The object's state, or the initial `null` when there is none. */
  get(id: string): Promise<S>;
  /** Several, with their versions (ids without a row are left out), in one query. */
  getMany(ids: readonly string[]): Promise<Map<string, Loaded<S>>>;
}

export interface RatingReadModels {
  customers: ReadModel<CustomerState>;
  products: ReadModel<ProductState>;
  prices: ReadModel<PriceState>;
  testClocks: ReadModel<TestClockState | null>;
  subscriptions: ReadModel<SubscriptionState | null>;
}

export const READ_MODELS = Symbol('READ_MODELS');
/** The event store's `CommandPipeline` every write goes through. */
export const PIPELINE = Symbol('PIPELINE');

/** Stripe's range filter (`created=123`, or `created[gte]=...&created[lt]=...`), parsed. */
export interface Range {
  eq?: number;
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

/** `GET /v1/subscriptions` filters (`status` as Stripe takes it: `all`, `ended`, or one status). */
export interface SubscriptionListFilter {
  customer?: string;
  price?: string;
  test_clock?: string;
  status?: 'active' | 'all' | 'canceled' | 'ended' | 'incomplete' | 'incomplete_expired' | 'past_due' | 'paused' | 'trialing' | 'unpaid';
  created?: Range;
}

/** Questions about many subscriptions at once, answered by the read model's query columns. */
export interface SubscriptionIndex {
  /** A Stripe list page, newest first (canceled ones only when `status` asks for them). */
  list(filter: SubscriptionListFilter, page: ListParams): Promise<StripeList<SubscriptionState>>;
  /** The subscription a (not deleted) item belongs to. */
  subscriptionOfItem(item: string): Promise<string | null>;
  activeOfCustomer(customer: string): Promise<string[]>;
  /** The customer's active subscription whose period ends first. */
  firstDueOfCustomer(customer: string): Promise<string | null>;
  /** The distinct recurrences of the active subscriptions on a test clock. */
  recurrencesOnClock(clock: string): Promise<Recurrence[]>;
}

/** A subscription's place in the due order. */
export interface DuePosition {
  next_due: number;
  id: string;
}

/**
 * What the period close and the threshold evaluation have to do, on one test clock or (`null`)
 * for subscriptions without one. Ids come in `limit`-sized batches.
 */
export interface SubscriptionSchedule {
  /** Earliest `next_due` in (after, upTo] on the clock, and whether work is left over (a pending invoice, a close due at or before `after`). */
  clockWork(clock: string, after: number, upTo: number): Promise<{ earliest: number | null; leftOver: boolean }>;
  /**
   * Due at or before `at`, in `(next_due, id)` order, after `after` (a keyset: each call starts
   * where the last one ended, so a walk over the range reads each entry once).
   */
  due(clock: string | null, at: number, after: DuePosition | null, limit: number): Promise<DuePosition[]>;
  /** With an invoice not yet acknowledged by invoicing. */
  withPendingInvoices(clock: string | null, limit: number): Promise<string[]>;
  hasThresholds(clock: string): Promise<boolean>;
  /** Subscriptions on a clock with a next due date, and how many still have close work at or before `target`. */
  clockProgress(clock: string, target: number): Promise<{ total: number; due: number }>;
  /** Active with `billing_thresholds`, ids after `afterId` in order. */
  withThresholds(clock: string | null, afterId: string, limit: number): Promise<string[]>;
}

export interface TestClockIndex {
  list(page: ListParams): Promise<StripeList<TestClockState>>;
  /** Clocks left `advancing` (by a stop or a crash): their loops resume at boot. */
  advancingIds(): Promise<string[]>;
  /** Run `fn` holding the clock's lock across replicas; without running it when another replica holds it. */
  exclusively(clock: string, fn: () => Promise<void>): Promise<void>;
}

export const SUBSCRIPTION_INDEX = Symbol('SUBSCRIPTION_INDEX');
export const SUBSCRIPTION_SCHEDULE = Symbol('SUBSCRIPTION_SCHEDULE');
export const TEST_CLOCK_INDEX = Symbol('TEST_CLOCK_INDEX');

/** `GET /v1/customers` filters. Customers on a test clock show only when the list names their clock. */
export interface CustomerListFilter {
  email?: string;
  test_clock?: string;
  created?: Range;
}

/** The `customers` read model's query columns: lists, search, a clock's customers. */
export interface CustomerIndex {
  list(filter: CustomerListFilter, page: ListParams): Promise<StripeList<CustomerObject>>;
  /** Matches of a search query (test-clock customers too), highest id first, below `before`; `hasMore` when more than `limit` match. */
  search(query: SearchQuery, limit: number, before: string | undefined): Promise<{ data: CustomerObject[]; hasMore: boolean }>;
  /** The (not deleted) customers on a test clock. */
  idsOnClock(clock: string): Promise<string[]>;
}

export interface ProductListFilter {
  active?: boolean;
  ids?: string[];
  created?: Range;
}

export interface ProductIndex {
  list(filter: ProductListFilter, page: ListParams): Promise<StripeList<ProductObject>>;
  /** Product names by id (ids without a product are left out), in one query. */
  names(ids: readonly string[]): Promise<Map<string, string>>;
}

export interface PriceListFilter {
  active?: boolean;
  /** Lower-case. */
  currency?: string;
  product?: string;
  type?: 'one_time' | 'recurring';
  lookup_keys?: string[];
  recurring?: { interval?: 'day' | 'week' | 'month' | 'year'; meter?: string; usage_type?: 'licensed' | 'metered' };
  created?: Range;
}

export interface PriceIndex {
  list(filter: PriceListFilter, page: ListParams): Promise<StripeList<PriceObject>>;
  /** The active price holding a lookup key, other than `except`. */
  lookupKeyHolder(key: string, except: string): Promise<string | null>;
}

/** One stored event as the history reads return it (`data` is `null` where it was not asked for). */
export interface HistoryEvent {
  streamId: string;
  type: string;
  data: unknown;
}

/**
 * Reads of subscription streams that want a few event types of many streams rather than their
 * fold (re-rating, line explanations): the invoice requests the streams recorded.
 */
export interface SubscriptionHistory {
  /** Every event of the streams, stream by stream in order; `data` only for the `withData` types. */
  events(streamIds: readonly string[], withData: readonly string[]): Promise<HistoryEvent[]>;
  /** The events of one type on the streams, in the store's global order. */
  eventsOfType(streamIds: readonly string[], type: string): Promise<HistoryEvent[]>;
}

export const CUSTOMER_INDEX = Symbol('CUSTOMER_INDEX');
export const PRODUCT_INDEX = Symbol('PRODUCT_INDEX');
export const PRICE_INDEX = Symbol('PRICE_INDEX');
export const SUBSCRIPTION_HISTORY = Symbol('SUBSCRIPTION_HISTORY');
