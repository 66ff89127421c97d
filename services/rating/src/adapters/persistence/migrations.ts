import type { Migration } from '@meterflow/service-kit';
import { EVENTS_AS_JSON_SQL } from '@meterflow/event-store';

/**
 * Read models: one row per aggregate holding its current state (`state`, the fold of its
 * stream) and the stream version it reflects, plus the columns lists and schedulers filter on.
 * Written in the same transaction as the events; rebuildable by replaying `events`.
 */
export const migrations: Migration[] = [
  {
    id: '0001_init',
    sql: `
CREATE TABLE customers (
  id text COLLATE "C" PRIMARY KEY,
  version int NOT NULL,
  created bigint NOT NULL,
  test_clock text,
  email text,
  deleted boolean NOT NULL DEFAULT false,
  state jsonb NOT NULL
);
CREATE INDEX customers_list_idx ON customers (id) WHERE NOT deleted;
CREATE INDEX customers_clock_idx ON customers (test_clock, id) WHERE test_clock IS NOT NULL;

CREATE TABLE products (
  id text COLLATE "C" PRIMARY KEY,
  version int NOT NULL,
  created bigint NOT NULL,
  active boolean NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  state jsonb NOT NULL
);

CREATE TABLE prices (
  id text COLLATE "C" PRIMARY KEY,
  version int NOT NULL,
  created bigint NOT NULL,
  active boolean NOT NULL,
  product text NOT NULL,
  currency text NOT NULL,
  type text NOT NULL,
  lookup_key text,
  usage_type text,
  meter text,
  recurring_interval text,
  state jsonb NOT NULL
);
CREATE INDEX prices_product_idx ON prices (product, id);
CREATE UNIQUE INDEX prices_lookup_key_idx ON prices (lookup_key) WHERE lookup_key IS NOT NULL AND active;

CREATE TABLE test_clocks (
  id text COLLATE "C" PRIMARY KEY,
  version int NOT NULL,
  created bigint NOT NULL,
  status text NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  state jsonb NOT NULL
);
CREATE INDEX test_clocks_advancing_idx ON test_clocks (id) WHERE status = 'advancing' AND NOT deleted;

CREATE TABLE subscriptions (
  id text COLLATE "C" PRIMARY KEY,
  version int NOT NULL,
  created bigint NOT NULL,
  customer text NOT NULL,
  test_clock text,
  status text NOT NULL,
  -- earliest time the subscription has period-close work (null when canceled)
  next_due bigint,
  -- invoices handed to invoicing and not yet acknowledged
  pending_invoices int NOT NULL DEFAULT 0,
  price_ids text[] NOT NULL DEFAULT '{}',
  state jsonb NOT NULL
);
CREATE INDEX subscriptions_due_idx ON subscriptions (next_due) WHERE next_due IS NOT NULL AND test_clock IS NULL;
CREATE INDEX subscriptions_clock_due_idx ON subscriptions (test_clock, next_due) WHERE test_clock IS NOT NULL;
CREATE INDEX subscriptions_pending_idx ON subscriptions (id) WHERE pending_invoices > 0;
CREATE INDEX subscriptions_customer_idx ON subscriptions (customer, id);

CREATE TABLE subscription_items (
  id text COLLATE "C" PRIMARY KEY,
  subscription text NOT NULL,
  created bigint NOT NULL,
  deleted boolean NOT NULL DEFAULT false
);
CREATE INDEX subscription_items_sub_idx ON subscription_items (subscription, id);
`,
  },
  {
    // Billing thresholds are evaluated periodically for these subscriptions only (issue 8 item 6).
    id: '0002_billing_thresholds',
    sql: `CREATE INDEX subscriptions_thresholds_idx ON subscriptions (test_clock, id)
  WHERE status = 'active' AND jsonb_typeof(state->'billing_thresholds') = 'object';`,
  },
  { id: '0003_events_as_json', sql: EVENTS_AS_JSON_SQL },
  {
    // The period close walks the due range by keyset on (next_due, id): with the id in the index
    // each batch is one ordered index read, where (next_due) alone sorted every due row per batch.
    id: '0004_due_keyset',
    sql: `DROP INDEX subscriptions_due_idx;
DROP INDEX subscriptions_clock_due_idx;
CREATE INDEX subscriptions_due_idx ON subscriptions (next_due, id) WHERE next_due IS NOT NULL AND test_clock IS NULL;
CREATE INDEX subscriptions_clock_due_idx ON subscriptions (test_clock, next_due, id) WHERE test_clock IS NOT NULL;`,
  },
];
