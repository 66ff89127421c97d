import type pg from 'pg';
import { idempotencyId, type EventToStore, type UsageWriter, type WriteResult } from '../../application/ports.js';
import { storedIdempotencyOf, type IdempotencyRecordRow } from '@meterflow/stripe-api';
import { copyField, copyQuery } from '@meterflow/event-store';
import type { EventTimeWindow } from '../../domain/meter.types.js';
import { windowSeconds } from '../../domain/usage.rollup.js';

const staged = new WeakSet<pg.PoolClient>();

// The batch arrives by COPY into this per-connection staging table (emptied at every commit):
// cheaper to encode and to parse than a JSON document or array parameters.
const STAGE_SQL = `CREATE TEMP TABLE IF NOT EXISTS ingest_input (
  identifier text COLLATE "C", meter_id text COLLATE "C", customer text COLLATE "C", value bigint, ts bigint, seq bigint, received_at bigint, payload text, win bigint
) ON COMMIT DELETE ROWS`;
// The dedupe + log + rollups statement over `input` (the batch's rows); `identifiers` is the part
// that claims the identifiers of the input rows that pass `where` and names the stored rows `fresh`.
const identifiers = (where = 'true') => `
ins AS (
  INSERT INTO meter_event_identifiers (identifier, meter_id, customer, value, ts, seq, received_at)
  SELECT identifier, meter_id, customer, value, ts, seq, received_at FROM input i WHERE ${where}
  ORDER BY identifier
  ON CONFLICT (identifier) DO NOTHING
  RETURNING identifier
),
fresh AS (SELECT i.* FROM input i JOIN ins USING (identifier)),`;
const LOG_AND_ROLLUPS = `
raw AS (
  INSERT INTO meter_events (meter_id, customer, identifier, value, ts, seq, received_at, payload)
  SELECT meter_id, customer, identifier, value, ts, seq, received_at, payload FROM fresh
),
minutes AS (
  INSERT INTO usage_rollups AS r (meter_id, customer, bucket, sum, count, last_value, last_ts, last_seq)
  SELECT meter_id, customer, ts - ts % 60, sum(value), count(*),
         (array_agg(value ORDER BY ts DESC, seq DESC))[1], max(ts), (array_agg(seq ORDER BY ts DESC, seq DESC))[1]
  FROM fresh WHERE win = 0
  GROUP BY meter_id, customer, ts - ts % 60
  ORDER BY meter_id, customer, ts - ts % 60
  ON CONFLICT (meter_id, customer, bucket) DO UPDATE SET
    sum = r.sum + EXCLUDED.sum,
    count = r.count + EXCLUDED.count,
    last_value = CASE WHEN (EXCLUDED.last_ts, EXCLUDED.last_seq) > (r.last_ts, r.last_seq) THEN EXCLUDED.last_value ELSE r.last_value END,
    last_seq = CASE WHEN (EXCLUDED.last_ts, EXCLUDED.last_seq) > (r.last_ts, r.last_seq) THEN EXCLUDED.last_seq ELSE r.last_seq END,
    last_ts = GREATEST(r.last_ts, EXCLUDED.last_ts)
),
buckets AS (
  INSERT INTO usage_buckets AS b (meter_id, customer, bucket, value, ts, seq, identifier)
  SELECT DISTINCT ON (meter_id, customer, ts - ts % win) meter_id, customer, ts - ts % win, value, ts, seq, identifier
  FROM fresh WHERE win > 0
  ORDER BY meter_id, customer, ts - ts % win, seq DESC
  ON CONFLICT (meter_id, customer, bucket) DO UPDATE SET
    value = EXCLUDED.value, ts = EXCLUDED.ts, seq = EXCLUDED.seq, identifier = EXCLUDED.identifier
  WHERE EXCLUDED.seq > b.seq
)`;
const WRITE_TAIL = `${identifiers()}${LOG_AND_ROLLUPS}
SELECT identifier FROM ins`;
// One query string, one implicit transaction: the COPY, then the statement.
const WRITE_SQL = `COPY pg_temp.ingest_input FROM STDIN;
WITH input AS (SELECT * FROM pg_temp.ingest_input),${WRITE_TAIL}`;
/**
 * Small batches (the v1/v2 one-event-per-request paths group ~10-50 events per transaction): one
 * JSON parameter to a prepared statement. A COPY costs a fixed ~0.5 ms in the backend (measured
 * with pg_stat_statements under the v1 bench: 0.55 ms for 13 rows, more than the statement
 * itself), and the multi-statement query string is planned on every call; the prepared statement
 * is planned once per connection.
 */
const WRITE_SMALL_SQL = `WITH input AS (
  SELECT * FROM json_to_recordset($1::json)
    AS t(identifier text COLLATE "C", meter_id text COLLATE "C", customer text COLLATE "C", value bigint, ts bigint, seq bigint, received_at bigint, payload text, win bigint)
),${WRITE_TAIL}`;
/**
 * A batch with keyed events (Idempotency-Key claims, `ApiRoute.idempotency: 'service'`), as one
 * JSON parameter. In one statement: events whose key holds a live record (24 h) are left out and
 * that record comes back (`kind` 1); the others are deduped and stored as above; the keys of the
 * stored ones are claimed with their responses (an expired record is taken over). A key claimed
 * meanwhile by a concurrent transaction (its row was not visible to this statement's snapshot)
 * makes `idempotency_key_claimed` abort the whole statement, which then runs again and sees it.
 * The live records are looked up one key at a time (`LATERAL ... OFFSET 0`: a primary-key probe
 * per keyed event). As a join, the plan prepared while the table was small (a fresh database)
 * hashed a sequential scan of the whole table and kept doing so as it grew: 4.3 ms per 20-event
 * statement after 28,000 keys instead of ~0.9 ms (docs/benchmarks.md).
 */
const WRITE_KEYED_SQL = `WITH input AS (
  SELECT * FROM json_to_recordset($1::json)
    AS t(identifier text COLLATE "C", meter_id text COLLATE "C", customer text COLLATE "C", value bigint, ts bigint, seq bigint, received_at bigint, payload text, win bigint,
         scope text COLLATE "C", key text COLLATE "C", method text, path text, params_hash text, status int, response text)
),
taken AS MATERIALIZED (
  SELECT i.identifier, i.scope, i.key, k.method, k.path, k.params_hash, k.status, k.response, k.created_at
  FROM input i CROSS JOIN LATERAL (
    SELECT * FROM idempotency_keys k
    WHERE k.scope = i.scope AND k.key = i.key AND k.created_at > now() - interval '24 hours'
    OFFSET 0
  ) k
),${identifiers('NOT EXISTS (SELECT 1 FROM taken t WHERE t.identifier = i.identifier)')}
claimed AS (
  INSERT INTO idempotency_keys AS k (scope, key, method, path, params_hash, status, response)
  SELECT scope, key, method, path, params_hash, status, response FROM fresh WHERE key IS NOT NULL
  ORDER BY scope, key
  ON CONFLICT (scope, key) DO UPDATE SET
    method = EXCLUDED.method, path = EXCLUDED.path, params_hash = EXCLUDED.params_hash,
    status = EXCLUDED.status, response = EXCLUDED.response, created_at = now()
  WHERE k.created_at <= now() - interval '24 hours'
  RETURNING scope, key
),${LOG_AND_ROLLUPS}
SELECT 0 AS kind, identifier, NULL::text AS scope, NULL::text AS key, NULL::text AS method, NULL::text AS path,
       NULL::text AS params_hash, NULL::int AS status, NULL::text AS response, NULL::timestamptz AS created_at
  FROM ins
UNION ALL
SELECT 1, identifier, scope, key, method, path, params_hash, status, response, created_at FROM taken
UNION ALL
SELECT 2, f.identifier, f.scope, f.key, NULL, NULL, NULL, NULL, NULL, NULL
  FROM fresh f LEFT JOIN claimed c ON c.scope = f.scope AND c.key = f.key
 WHERE f.key IS NOT NULL AND NOT idempotency_key_claimed(f.key, c.key)`;
/** Raised by `idempotency_key_claimed` (migration 0004). */
const KEY_CLAIMED_CONCURRENTLY = 'MFK01';

interface KeyedRow extends IdempotencyRecordRow {
  kind: number;
  identifier: string;
  scope: string | null;
  key: string | null;
}

/** Up to this many events a batch goes as a JSON parameter; above, by COPY. */
export const SMALL_BATCH_EVENTS = 256;
const monthStart = (t: number): number => {
  const d = new Date(t * 1000);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000;
};
const nextMonth = (t: number): number => {
  const d = new Date(t * 1000);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 1000;
};

/**
 * The usage store's writer: the raw append-only log, the identifier dedupe index and the rollups,
 * all written in one transaction per batch (one commit, one fsync, for thousands of events); and
 * its housekeeping (monthly partitions, the identifier window). Reads: usage.queries.ts;
 * cancellations: meter-event.adjuster.ts.
 */
export class MeterEventStore implements UsageWriter {
  private readonly partitions = new Set<number>();

  constructor(private readonly pool: pg.Pool) {}

  /** Monthly partitions of `meter_events` for every month the timestamps fall in. */
  async ensurePartitions(timestamps: Iterable<number>): Promise<void> {
    const months = new Set<number>();
    // Most timestamps of a batch fall in one month: skip the date math for those.
    let lo = 0;
    let hi = -1;
    for (const t of timestamps) {
      if (t >= lo && t < hi) continue;
      lo = monthStart(t);
      hi = nextMonth(lo);
      months.add(lo);
    }
    for (const m of months) {
      if (this.partitions.has(m)) continue;
      const d = new Date(m * 1000);
      const name = `meter_events_p${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
      try {
        await this.pool.query(`CREATE TABLE IF NOT EXISTS ${name} PARTITION OF meter_events FOR VALUES FROM (${m}) TO (${nextMonth(m)})`);
      } catch (e) {
        // Another replica created it at the same moment.
        if (!['42P07', '23505'].includes((e as { code?: string }).code ?? '')) throw e;
      }
      this.partitions.add(m);
    }
  }

  /**
   * Store a batch. Returns the identifiers that were new (the others were duplicates, inside the
   * batch or of events already stored within the identifier window) and were counted.
   *
   * One round trip and one commit: a COPY into the connection's staging table and one statement,
   * sent as one query string (one implicit transaction): dedupe on the identifier index (keys sorted,
   * so concurrent writers lock in the same order), append the new events to the log, and fold
   * them into the rollups (minute rows for raw meters, the latest received event per bucket for
   * pre-aggregated ones). `foldMinuteRollups`/`foldWindowBuckets` are the same rules in TypeScript.
   */
  async write(events: readonly EventToStore[], windowOf: (meterId: string) => EventTimeWindow | null): Promise<WriteResult> {
    const fresh = new Map<string, EventToStore>();
    for (const e of events) if (!fresh.has(e.identifier)) fresh.set(e.identifier, e);
    if (fresh.size === 0) return { fresh: new Set(), taken: new Map() };
    const list = [...fresh.values()];
    await this.ensurePartitions(list.map((e) => e.timestamp));
    if (list.some((e) => e.keyed)) return this.writeKeyed(list, windowOf);
    if (list.length <= SMALL_BATCH_EVENTS) return { fresh: await this.writeSmall(list, windowOf), taken: new Map() };
    let text = '';
    for (const e of list) {
      const w = windowOf(e.meterId);
      text += `${copyField(e.identifier)}\t${copyField(e.meterId)}\t${copyField(e.customer)}\t${e.value}\t${e.timestamp}\t${e.seq}\t${e.receivedAt}\t${copyField(JSON.stringify(e.payload))}\t${w === null ? 0 : windowSeconds(w)}\n`;
    }
    const client = await this.pool.connect();
    const sql = staged.has(client) ? WRITE_SQL : `${STAGE_SQL};\n${WRITE_SQL}`;
    try {
      const rows = await copyQuery(client, sql, Buffer.from(text));
      staged.add(client);
      return { fresh: new Set(rows as string[]), taken: new Map() };
    } catch (e) {
      staged.delete(client); // a failed first batch rolled the staging table back too
      throw e;
    } finally {
      client.release();
    }
  }

  private async writeSmall(list: readonly EventToStore[], windowOf: (meterId: string) => EventTimeWindow | null): Promise<Set<string>> {
    const { rows } = await this.pool.query<{ identifier: string }>({
      name: 'ingest_write_small',
      text: WRITE_SMALL_SQL,
      values: [JSON.stringify(list.map((e) => inputRow(e, windowOf)))],
    });
    return new Set(rows.map((r) => r.identifier));
  }

  /**
   * A batch with keyed events (any size: keyed events come one per request, so such a batch is
   * small unless NATS traffic joined it). At most one event per key (the write queue sees to it).
   */
  private async writeKeyed(list: readonly EventToStore[], windowOf: (meterId: string) => EventTimeWindow | null): Promise<WriteResult> {
    const param = JSON.stringify(
      list.map((e) => {
        const k = e.keyed;
        return k
          ? {
              ...inputRow(e, windowOf),
              scope: k.scope,
              key: k.key,
              method: k.method,
              path: k.path,
              params_hash: k.paramsHash,
              status: k.status,
              response: k.body,
            }
          : inputRow(e, windowOf);
      }),
    );
    for (let attempt = 1; ; attempt++) {
      try {
        const { rows } = await this.pool.query<KeyedRow>({ name: 'ingest_write_keyed', text: WRITE_KEYED_SQL, values: [param] });
        const out: WriteResult = { fresh: new Set(), taken: new Map() };
        for (const r of rows) {
          if (r.kind === 0) out.fresh.add(r.identifier);
          else if (r.kind === 1) out.taken.set(idempotencyId({ scope: r.scope!, key: r.key! }), storedIdempotencyOf(r));
        }
        return out;
      } catch (e) {
        // A key claimed by a concurrent transaction: run again, now seeing its record.
        if ((e as { code?: string }).code !== KEY_CLAIMED_CONCURRENTLY || attempt >= 3) throw e;
      }
    }
  }

  /** Forget identifiers received before `before` (unix seconds): the dedupe window has passed. */
  async pruneIdentifiers(before: number): Promise<number> {
    const r = await this.pool.query('DELETE FROM meter_event_identifiers WHERE received_at < $1', [before]);
    return r.rowCount ?? 0;
  }

  /** Forget Idempotency-Key records older than 24 h (the statement already ignores them). */
  async pruneIdempotencyKeys(): Promise<number> {
    const r = await this.pool.query(`DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'`);
    return r.rowCount ?? 0;
  }
}

/** The statement's input row of an event (JSON paths). */
function inputRow(e: EventToStore, windowOf: (meterId: string) => EventTimeWindow | null) {
  const w = windowOf(e.meterId);
  return {
    identifier: e.identifier,
    meter_id: e.meterId,
    customer: e.customer,
    value: e.value.toString(),
    ts: e.timestamp,
    seq: e.seq.toString(),
    received_at: e.receivedAt,
    payload: JSON.stringify(e.payload),
    win: w === null ? 0 : windowSeconds(w),
  };
}
