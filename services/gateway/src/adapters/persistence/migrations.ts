import type { Migration } from '@meterflow/service-kit';

/**
 * The gateway's own tables (schema `gateway`). Idempotency records: one row per (API key scope,
 * Idempotency-Key); `status`/`response` are null while the first request is still running.
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
];
