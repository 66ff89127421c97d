import type pg from 'pg';
import type { Change, Loaded } from '@meterflow/event-store';
import type { CustomerState } from '../domain/customer.decider.js';
import type { PriceState } from '../domain/price.decider.js';
import type { ProductState } from '../domain/product.decider.js';
import type { SubscriptionState } from '../domain/subscription.types.js';
import type { TestClockState } from '../domain/test-clock.decider.js';

/**
 * What rating's application needs from the outside, declared here; adapters implement it and
 * rating.module.ts wires it. (Libraries — the event store's `CommandPipeline`, the RPC client,
 * the pg pool for list queries — are used as they are.)
 */

type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * One aggregate kind's read model: a row per object with its folded state and the stream version
 * it reflects. It is the pipeline's snapshot (`snapshot`) and projection (`project`), and what
 * queries read outside a unit (`get`, `getMany`).
 */
export interface ReadModel<S> {
  snapshot(db: Queryable, ids: readonly string[]): Promise<Map<string, Loaded<S>>>;
  project(tx: pg.PoolClient, changes: readonly Change<S>[]): Promise<void>;
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
