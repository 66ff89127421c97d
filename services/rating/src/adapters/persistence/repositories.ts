import type pg from 'pg';
import type { PgEventStore } from '@meterflow/event-store';
import {
  evolveCustomer,
  evolvePrice,
  evolveProduct,
  type CustomerEvent,
  type CustomerObject,
  type Deletable,
  type PriceEvent,
  type ProductEvent,
  type ProductObject,
} from '../../domain/catalog.events.js';
import type { PriceObject } from '../../domain/price.js';
import { evolve as evolveSubscription, nextDue, type SubscriptionEvent } from '../../domain/subscription.decider.js';
import type { SubscriptionState } from '../../domain/subscription.types.js';
import { evolve as evolveClock, type TestClockEvent, type TestClockState } from '../../domain/test-clock.decider.js';
import { AggregateRepository } from './aggregate.repository.js';

export type CustomerRepository = AggregateRepository<Deletable<CustomerObject>, CustomerEvent>;
export type ProductRepository = AggregateRepository<ProductObject, ProductEvent>;
export type PriceRepository = AggregateRepository<PriceObject, PriceEvent>;
export type TestClockRepository = AggregateRepository<TestClockState, TestClockEvent>;
export type SubscriptionRepository = AggregateRepository<SubscriptionState, SubscriptionEvent>;

export const CUSTOMERS = Symbol('CUSTOMERS');
export const PRODUCTS = Symbol('PRODUCTS');
export const PRICES = Symbol('PRICES');
export const TEST_CLOCKS = Symbol('TEST_CLOCKS');
export const SUBSCRIPTIONS = Symbol('SUBSCRIPTIONS');

export const customerRepository = (store: PgEventStore): CustomerRepository =>
  new AggregateRepository(store, {
    table: 'customers',
    evolve: evolveCustomer,
    columns: (s) => ({ created: s.object.created, test_clock: s.object.test_clock, email: s.object.email, deleted: s.deleted }),
    columnTypes: { created: 'bigint', test_clock: 'text', email: 'text', deleted: 'boolean' },
  });

export const productRepository = (store: PgEventStore): ProductRepository =>
  new AggregateRepository(store, {
    table: 'products',
    evolve: evolveProduct,
    columns: (s) => ({ created: s.created, active: s.active }),
    columnTypes: { created: 'bigint', active: 'boolean' },
  });

export const priceRepository = (store: PgEventStore): PriceRepository =>
  new AggregateRepository(store, {
    table: 'prices',
    evolve: evolvePrice,
    columns: (s) => ({
      created: s.created,
      active: s.active,
      product: s.product,
      currency: s.currency,
      type: s.type,
      lookup_key: s.lookup_key,
      usage_type: s.recurring?.usage_type ?? null,
      meter: s.recurring?.meter ?? null,
      recurring_interval: s.recurring?.interval ?? null,
    }),
    columnTypes: {
      created: 'bigint',
      active: 'boolean',
      product: 'text',
      currency: 'text',
      type: 'text',
      lookup_key: 'text',
      usage_type: 'text',
      meter: 'text',
      recurring_interval: 'text',
    },
  });

export const testClockRepository = (store: PgEventStore): TestClockRepository =>
  new AggregateRepository(store, {
    table: 'test_clocks',
    evolve: evolveClock,
    columns: (s) => ({ created: s.created, status: s.status, deleted: s.deleted }),
    columnTypes: { created: 'bigint', status: 'text', deleted: 'boolean' },
  });

const itemIds = (s: SubscriptionState | null): string => (s ? s.items.map((i) => i.id).join(',') : '');

/** item id -> subscription, for the subscriptions whose set of items changed. */
async function indexItems(tx: pg.PoolClient, changes: { before: SubscriptionState | null; after: SubscriptionState }[]): Promise<void> {
  const changed = changes.filter((c) => itemIds(c.before) !== itemIds(c.after)).map((c) => c.after);
  if (changed.length === 0) return;
  const items = changed.flatMap((s) => s.items.map((i) => ({ id: i.id, subscription: s.id, created: i.created })));
  await tx.query(
    `INSERT INTO subscription_items (id, subscription, created, deleted)
     SELECT unnest($1::text[]), unnest($2::text[]), unnest($3::bigint[]), false
     ON CONFLICT (id) DO NOTHING`,
    [items.map((i) => i.id), items.map((i) => i.subscription), items.map((i) => i.created)],
  );
  await tx.query(
    `UPDATE subscription_items SET deleted = true
      WHERE subscription = ANY($1::text[]) AND NOT deleted AND NOT (id = ANY($2::text[]))`,
    [changed.map((s) => s.id), items.map((i) => i.id)],
  );
}

export const subscriptionRepository = (store: PgEventStore): SubscriptionRepository =>
  new AggregateRepository(store, {
    table: 'subscriptions',
    evolve: evolveSubscription,
    columns: (s) => ({
      created: s.created,
      customer: s.customer,
      test_clock: s.test_clock,
      status: s.status,
      next_due: nextDue(s),
      pending_invoices: s.pending_invoices.length,
      price_ids: s.items.map((i) => i.price.id),
    }),
    columnTypes: {
      created: 'bigint',
      customer: 'text',
      test_clock: 'text',
      status: 'text',
      next_due: 'bigint',
      pending_invoices: 'int',
      price_ids: 'text[]',
    },
    afterSave: indexItems,
  });

/** Repositories by the id prefix of their streams (for replay). */
export function repositoriesByPrefix(store: PgEventStore): Record<string, AggregateRepository<unknown, { type: string; data: unknown }>> {
  return {
    cus: customerRepository(store),
    prod: productRepository(store),
    price: priceRepository(store),
    clock: testClockRepository(store),
    sub: subscriptionRepository(store),
  } as unknown as Record<string, AggregateRepository<unknown, { type: string; data: unknown }>>;
}
