import type { Migration } from '@meterflow/service-kit';

/**
 * The gateway's own tables (schema `gateway`). Idempotency records: one row per (API key scope,
 * Idempotency-Key); `status`/`response` are null while the first request is still running.
 * Webhooks: the endpoints' read model (a projection of their streams), the Stripe events consumed
 * from MF_EVENTS (the events API, kept for the retention period), one delivery per (event,
 * endpoint) and every attempt made.
 */
export const gatewayMigrations: Migration[] = [
  {
    id: '0001_idempotency_keys',
    sql: `
      CREATE TABLE idempotency_keys (
        scope        text        NOT NULL,
        key          text        NOT NULL,
        method       text        NOT NULL,
        path         text        NOT NULL,
        params_hash  text        NOT NULL,
        status       integer,
        response     text,
        created_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, key)
      );
      CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
    `,
  },
  {
    id: '0002_webhooks',
    sql: `
      CREATE TABLE webhook_endpoints (
        id              text COLLATE "C" PRIMARY KEY,
        url             text     NOT NULL,
        enabled_events  text[]   NOT NULL,
        description     text,
        metadata        jsonb    NOT NULL,
        api_version     text,
        secret          text     NOT NULL,
        status          text     NOT NULL,
        created         bigint   NOT NULL,
        deleted         boolean  NOT NULL DEFAULT false,
        version         integer  NOT NULL
      );
      CREATE TABLE stripe_events (
        id           text COLLATE "C" PRIMARY KEY,
        type         text        NOT NULL,
        created      bigint      NOT NULL,
        body         text        NOT NULL,
        received_at  timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX stripe_events_type ON stripe_events (type, id);
      CREATE INDEX stripe_events_received_at ON stripe_events (received_at);
      CREATE TABLE webhook_deliveries (
        event_id          text COLLATE "C" NOT NULL REFERENCES stripe_events (id) ON DELETE CASCADE,
        endpoint_id       text COLLATE "C" NOT NULL,
        status            text        NOT NULL DEFAULT 'pending',
        attempts          integer     NOT NULL DEFAULT 0,
        next_attempt_at   timestamptz NOT NULL DEFAULT now(),
        first_attempt_at  timestamptz,
        last_attempt_at   timestamptz,
        PRIMARY KEY (event_id, endpoint_id),
        CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled'))
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_attempt_at) WHERE status = 'pending';
      CREATE TABLE webhook_attempts (
        event_id      text COLLATE "C" NOT NULL,
        endpoint_id   text COLLATE "C" NOT NULL,
        attempt       integer     NOT NULL,
        attempted_at  timestamptz NOT NULL,
        duration_ms   integer     NOT NULL,
        status_code   integer,
        error         text,
        PRIMARY KEY (event_id, endpoint_id, attempt),
        FOREIGN KEY (event_id, endpoint_id) REFERENCES webhook_deliveries (event_id, endpoint_id) ON DELETE CASCADE
      );
    `,
  },
  {
    // The trace of the change an event reports: a webhook delivery continues it.
    id: '0003_stripe_events_traceparent',
    sql: `ALTER TABLE stripe_events ADD COLUMN traceparent text;`,
  },
  {
    // A rolled secret's predecessor, signing beside it until it expires (unix s).
    id: '0004_webhook_secret_roll',
    sql: `ALTER TABLE webhook_endpoints ADD COLUMN previous_secret text, ADD COLUMN previous_secret_expires_at bigint;`,
  },
  {
    // An event's body stays in MF_EVENTS, read by its stream sequence (issue 12): new rows keep
    // the sequence only; rows from before keep their body.
    id: '0005_event_bodies_in_jetstream',
    sql: `ALTER TABLE stripe_events ALTER COLUMN body DROP NOT NULL, ADD COLUMN stream_seq bigint,
            ADD CONSTRAINT stripe_events_body_or_seq CHECK (body IS NOT NULL OR stream_seq IS NOT NULL);`,
  },
];
