/**
 * A service's migration that stores its events' `data` and `metadata` as json instead of jsonb:
 * for services that only read their events back into Node (they never look inside them in SQL
 * but for a `->>` or two), json keeps the text as sent: appends cost ~35% less and reads a third
 * (docs/benchmarks.md, issue 12). A service that replays in SQL (the credit ledger's
 * `jsonb_to_record` rebuild) keeps jsonb, which is read there 2-3x faster.
 */
export const EVENTS_AS_JSON_SQL = `ALTER TABLE events ALTER COLUMN data TYPE json USING data::json,
  ALTER COLUMN metadata TYPE json USING metadata::json;`;

/** Quote a schema (or any) identifier for SQL. */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * The event-store infrastructure every service schema carries: the append-only `events` log,
 * the consumer `inbox`, `dead_letters` and the outbox relay's `relay_cursor`.
 * Idempotent (`IF NOT EXISTS` / `CREATE OR REPLACE`), so re-running it is harmless.
 */
export function eventStoreMigration(schema: string): { id: '0000_event_store'; sql: string } {
  const s = quoteIdent(schema);
  const sql = `
CREATE SCHEMA IF NOT EXISTS ${s};

CREATE TABLE IF NOT EXISTS ${s}.events (
  global_position bigserial PRIMARY KEY,
  stream_id text NOT NULL,
  stream_position int NOT NULL,
  event_id uuid NOT NULL UNIQUE,
  type text NOT NULL,
  schema_version int NOT NULL DEFAULT 1,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  -- the writing transaction: the outbox relay only passes a row once every older transaction has ended
  transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  UNIQUE (stream_id, stream_position)
);
CREATE INDEX IF NOT EXISTS events_tx_position_idx ON ${s}.events (transaction_id, global_position);
CREATE INDEX IF NOT EXISTS events_type_idx ON ${s}.events (type, global_position);

-- Stored events are facts: never rewritten, not even by the table owner.
CREATE OR REPLACE FUNCTION ${s}.events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events are append-only (% rejected)', TG_OP USING ERRCODE = 'restrict_violation';
END $$;
DROP TRIGGER IF EXISTS events_no_update_delete ON ${s}.events;
CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON ${s}.events
  FOR EACH ROW EXECUTE FUNCTION ${s}.events_append_only();
DROP TRIGGER IF EXISTS events_no_truncate ON ${s}.events;
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON ${s}.events
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.events_append_only();

-- Wake the outbox relay on commit (payload-free; the relay reads the table).
CREATE OR REPLACE FUNCTION ${s}.events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify(${literal(eventsChannel(schema))}, '');
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS events_notify ON ${s}.events;
CREATE TRIGGER events_notify AFTER INSERT ON ${s}.events
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.events_notify();

CREATE TABLE IF NOT EXISTS ${s}.inbox (
  consumer text NOT NULL,
  message_id text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
);

CREATE TABLE IF NOT EXISTS ${s}.dead_letters (
  id bigserial PRIMARY KEY,
  consumer text NOT NULL,
  subject text NOT NULL,
  message_id text,
  data text,
  headers jsonb NOT NULL DEFAULT '{}'::jsonb,
  reason text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS dead_letters_consumer_idx ON ${s}.dead_letters (consumer, id);

CREATE TABLE IF NOT EXISTS ${s}.relay_cursor (
  name text PRIMARY KEY,
  transaction_id xid8 NOT NULL DEFAULT '0'::xid8,
  global_position bigint NOT NULL DEFAULT 0
);
`;
  return { id: '0000_event_store', sql };
}

/** The LISTEN/NOTIFY channel the insert trigger signals on. */
export const eventsChannel = (schema: string): string => `mf_events_${schema}`.replace(/[^A-Za-z0-9_]/g, '_');

const literal = (v: string): string => `'${v.replace(/'/g, "''")}'`;

/** For deployments with a dedicated service role: it may read and append, never rewrite. */
export function grantAppendOnly(schema: string, role: string): string {
  const s = quoteIdent(schema);
  const r = quoteIdent(role);
  return `
GRANT USAGE ON SCHEMA ${s} TO ${r};
GRANT SELECT, INSERT ON ${s}.events TO ${r};
REVOKE UPDATE, DELETE, TRUNCATE ON ${s}.events FROM ${r};
GRANT USAGE, SELECT ON SEQUENCE ${s}.events_global_position_seq TO ${r};
GRANT SELECT, INSERT, UPDATE, DELETE ON ${s}.inbox, ${s}.dead_letters, ${s}.relay_cursor TO ${r};
GRANT USAGE, SELECT ON SEQUENCE ${s}.dead_letters_id_seq TO ${r};
`;
}
