import type { Migration } from '@meterflow/service-kit';

/**
 * Read models and the high-volume usage store. Meters and alerts are projections of the event
 * store (updated in the same transaction as the append). Accepted meter events are the one
 * exception to "every fact in `events`": they go to `meter_events` (append-only, partitioned
 * by event timestamp), deduplicated through `meter_event_identifiers`, with rollups updated in
 * the same transaction.
 */
export const migrations: Migration[] = [
  {
    id: '0001_init',
    sql: `
CREATE TABLE meters (
  id text COLLATE "C" PRIMARY KEY,
  event_name text NOT NULL UNIQUE,
  status text NOT NULL,
  body jsonb NOT NULL,
  version int NOT NULL
);
CREATE INDEX meters_status_idx ON meters (status, id);

-- The raw log: every accepted event, never updated. Monthly partitions by timestamp are created
-- ahead of need by the writer (see MeterEventStore.ensurePartitions).
CREATE TABLE meter_events (
  meter_id text NOT NULL,
  customer text NOT NULL,
  identifier text NOT NULL,
  value bigint NOT NULL,
  ts bigint NOT NULL,
  seq bigint NOT NULL,
  received_at bigint NOT NULL,
  payload text NOT NULL
) PARTITION BY RANGE (ts);
-- Usage windows that do not start or end on a minute read the partial minutes from here.
CREATE INDEX meter_events_usage_idx ON meter_events (meter_id, customer, ts);

-- Dedupe index over the identifier window (METER_EVENT_IDENTIFIER_WINDOW_DAYS) and the facts an
-- adjustment needs; rows older than the window are pruned.
CREATE TABLE meter_event_identifiers (
  identifier text PRIMARY KEY,
  meter_id text NOT NULL,
  customer text NOT NULL,
  value bigint NOT NULL,
  ts bigint NOT NULL,
  seq bigint NOT NULL,
  received_at bigint NOT NULL
);
CREATE INDEX meter_event_identifiers_received_idx ON meter_event_identifiers (received_at);

CREATE TABLE meter_event_cancellations (
  identifier text PRIMARY KEY,
  meter_id text NOT NULL,
  cancelled_at bigint NOT NULL
);

-- Raw meters: one row per (meter, customer, minute).
CREATE TABLE usage_rollups (
  meter_id text NOT NULL,
  customer text NOT NULL,
  bucket bigint NOT NULL,
  sum numeric NOT NULL,
  count bigint NOT NULL,
  last_value bigint NOT NULL,
  last_ts bigint NOT NULL,
  last_seq bigint NOT NULL,
  PRIMARY KEY (meter_id, customer, bucket)
);

-- Pre-aggregated meters (event_time_window): the most recently received event per UTC hour/day.
CREATE TABLE usage_buckets (
  meter_id text NOT NULL,
  customer text NOT NULL,
  bucket bigint NOT NULL,
  value bigint NOT NULL,
  ts bigint NOT NULL,
  seq bigint NOT NULL,
  identifier text NOT NULL,
  PRIMARY KEY (meter_id, customer, bucket)
);

CREATE TABLE meter_event_sessions (
  id text COLLATE "C" PRIMARY KEY,
  token text NOT NULL UNIQUE,
  created bigint NOT NULL,
  expires_at bigint NOT NULL
);

CREATE TABLE alerts (
  id text COLLATE "C" PRIMARY KEY,
  meter_id text NOT NULL,
  customer text,
  status text NOT NULL,
  created bigint NOT NULL,
  body jsonb NOT NULL,
  version int NOT NULL
);
CREATE INDEX alerts_meter_idx ON alerts (meter_id, id);

CREATE TABLE alert_triggers (
  alert_id text NOT NULL,
  customer text NOT NULL,
  value numeric NOT NULL,
  triggered_at bigint NOT NULL,
  PRIMARY KEY (alert_id, customer)
);
`,
  },
  {
    // The identifier window is pruned by receipt time, which grows with insertion order: a BRIN
    // index finds old rows for a fraction of a btree's cost on every insert.
    id: '0002_identifiers_brin',
    sql: `
DROP INDEX IF EXISTS meter_event_identifiers_received_idx;
CREATE INDEX meter_event_identifiers_received_brin ON meter_event_identifiers USING brin (received_at);
`,
  },
  {
    // Ids compare byte by byte. Under the database's collation (C.UTF-8, en_US, ...) every b-tree
    // probe, sort and join key of the ingest statement went through strcoll: ~10% of the backend's
    // samples in the ingest write (perf, docs/benchmarks.md). Stripe ids and identifiers are ASCII,
    // so the order only changes where nothing depends on it. All the schema's id columns change
    // together, so every join and lookup still has one collation and keeps its index.
    id: '0003_c_collation_ids',
    sql: `
ALTER TABLE meter_events ALTER COLUMN identifier TYPE text COLLATE "C", ALTER COLUMN meter_id TYPE text COLLATE "C", ALTER COLUMN customer TYPE text COLLATE "C";
ALTER TABLE meter_event_identifiers ALTER COLUMN identifier TYPE text COLLATE "C", ALTER COLUMN meter_id TYPE text COLLATE "C", ALTER COLUMN customer TYPE text COLLATE "C";
ALTER TABLE meter_event_cancellations ALTER COLUMN identifier TYPE text COLLATE "C", ALTER COLUMN meter_id TYPE text COLLATE "C";
ALTER TABLE usage_rollups ALTER COLUMN meter_id TYPE text COLLATE "C", ALTER COLUMN customer TYPE text COLLATE "C";
ALTER TABLE usage_buckets ALTER COLUMN meter_id TYPE text COLLATE "C", ALTER COLUMN customer TYPE text COLLATE "C", ALTER COLUMN identifier TYPE text COLLATE "C";
ALTER TABLE alerts ALTER COLUMN meter_id TYPE text COLLATE "C", ALTER COLUMN customer TYPE text COLLATE "C";
ALTER TABLE alert_triggers ALTER COLUMN alert_id TYPE text COLLATE "C", ALTER COLUMN customer TYPE text COLLATE "C";
`,
  },
  {
    // Idempotency-Key records of the meter-event creates (ApiRoute.idempotency 'service'): the
    // key and its response are stored in the transaction that stores the event, so a keyed
    // request costs one commit (the gateway's own claim cycle is skipped for these routes).
    // `idempotency_key_claimed` aborts a write whose key a concurrent transaction claimed first
    // (the event was stored without its key: the whole statement rolls back and runs again).
    id: '0004_idempotency_keys',
    sql: `
CREATE TABLE idempotency_keys (
  scope text COLLATE "C" NOT NULL,
  key text COLLATE "C" NOT NULL,
  method text NOT NULL,
  path text NOT NULL,
  params_hash text NOT NULL,
  status int NOT NULL,
  response text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created_brin ON idempotency_keys USING brin (created_at);
CREATE FUNCTION idempotency_key_claimed(k text, claimed text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF claimed IS NULL THEN
    RAISE EXCEPTION 'idempotency key % was claimed by a concurrent transaction', k USING ERRCODE = 'MFK01';
  END IF;
  RETURN true;
END $$;
`,
  },
];
