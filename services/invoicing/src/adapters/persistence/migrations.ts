import { EVENTS_AS_JSON_SQL } from '@meterflow/event-store';

/**
 * The prefix of a customer whose 8-character prefix another customer (before it, by id) carried
 * before prefixes were kept unique: the hash's first 12 characters (`invoicePrefixCandidates`'
 * fifth), in SQL. Migration 0006 gives it; the rebuild gives it again from the numbers.
 */
export const twelveCharacterPrefixSql = (customer: string): string =>
  `upper(left(encode(sha256(convert_to(${customer}, 'UTF8')), 'hex'), 12))`;

/** Read models of the invoicing service (the event-store tables are applied first by service-kit). */
export const migrations = [
  {
    id: '0001_init',
    sql: `
CREATE TABLE IF NOT EXISTS invoices (
  id text PRIMARY KEY,
  customer text NOT NULL,
  subscription text,
  status text NOT NULL,
  collection_method text NOT NULL,
  currency text NOT NULL,
  test_clock text,
  auto_advance boolean NOT NULL,
  automatically_finalizes_at bigint,
  created bigint NOT NULL,
  total bigint NOT NULL,
  amount_due bigint NOT NULL,
  idempotency_key text UNIQUE,
  version int NOT NULL,
  object jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS invoices_customer_idx ON invoices (customer, id DESC);
CREATE INDEX IF NOT EXISTS invoices_subscription_idx ON invoices (subscription, id DESC);
CREATE INDEX IF NOT EXISTS invoices_due_drafts_idx ON invoices (automatically_finalizes_at)
  WHERE status = 'draft' AND auto_advance;

CREATE TABLE IF NOT EXISTS invoice_lines (
  id text PRIMARY KEY,
  invoice text NOT NULL,
  position int NOT NULL,
  object jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS invoice_lines_invoice_idx ON invoice_lines (invoice, position);

CREATE TABLE IF NOT EXISTS invoice_items (
  id text PRIMARY KEY,
  customer text NOT NULL,
  subscription text,
  invoice text,
  currency text NOT NULL,
  date bigint NOT NULL,
  version int NOT NULL,
  object jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS invoice_items_customer_idx ON invoice_items (customer, id DESC);
CREATE INDEX IF NOT EXISTS invoice_items_pending_idx ON invoice_items (customer) WHERE invoice IS NULL;
`,
  },
  {
    id: '0002_invoice_numbers',
    sql: `
-- Per-customer invoice numbering, derived from InvoiceFinalized (rebuilt with the read models).
CREATE TABLE IF NOT EXISTS invoice_number_counters (
  customer text PRIMARY KEY,
  last int NOT NULL
);
`,
  },
  {
    id: '0003_due_drafts_by_clock',
    sql: `
-- Drafts due are read per clock (or without one) in (due time, id) order, 500 at a time: this
-- index answers each batch from its first entries, where the old one (due time only) made
-- Postgres sort every draft of the clock for every batch (a 100,000-draft clock: O(n) per batch).
CREATE INDEX IF NOT EXISTS invoices_clock_due_idx ON invoices (test_clock, automatically_finalizes_at, id)
  WHERE status = 'draft' AND auto_advance;
DROP INDEX IF EXISTS invoices_due_drafts_idx;
`,
  },
  {
    id: '0004_objects_as_json',
    sql: `
-- The Stripe objects of the read models as json, not jsonb: they are written whole and read whole
-- (nothing looks inside but the rebuild's invoice numbers), and json keeps the text as sent:
-- upserting a rendered invoice costs half of jsonb's parse-and-rebuild, reading it back a third
-- (docs/benchmarks.md, issue 12). Keys keep the renderer's (Stripe's) order.
ALTER TABLE invoices ALTER COLUMN object TYPE json USING object::json;
ALTER TABLE invoice_lines ALTER COLUMN object TYPE json USING object::json;
ALTER TABLE invoice_items ALTER COLUMN object TYPE json USING object::json;
`,
  },
  { id: '0005_events_as_json', sql: EVENTS_AS_JSON_SQL },
  {
    id: '0006_invoice_number_prefixes',
    sql: `
-- Each customer's invoice-number prefix, unique among customers (8 hex characters of a hash of
-- the customer id collided about once per 100,000 customers: two invoices could carry one number).
-- Customers numbered already keep the prefix their numbers carry; of two sharing one, the second
-- (by id) numbers on with the hash's first 12 characters (\`invoicePrefixCandidates\`).
ALTER TABLE invoice_number_counters ADD COLUMN IF NOT EXISTS prefix text;
UPDATE invoice_number_counters c SET prefix = p.prefix
  FROM (SELECT customer,
               CASE WHEN row_number() OVER (PARTITION BY left(h, 8) ORDER BY customer) = 1 THEN left(h, 8) ELSE ${twelveCharacterPrefixSql('customer')} END AS prefix
          FROM (SELECT customer, upper(encode(sha256(convert_to(customer, 'UTF8')), 'hex')) AS h FROM invoice_number_counters) x) p
 WHERE p.customer = c.customer AND c.prefix IS NULL;
ALTER TABLE invoice_number_counters ALTER COLUMN prefix SET NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS invoice_number_counters_prefix ON invoice_number_counters (prefix);
`,
  },
];
