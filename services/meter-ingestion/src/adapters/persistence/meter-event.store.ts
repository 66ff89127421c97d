import type pg from 'pg';
import type { EventTimeWindow } from '../../domain/meter.types.js';
import { floorTo, windowSeconds, type StoredEvent } from '../../domain/usage.rollup.js';

export interface EventToStore extends StoredEvent {
  receivedAt: number;
  payload: Record<string, string>;
}

export interface UsageWindowQuery {
  key: string;
  meterId: string;
  customer: string;
  start: number;
  end: number;
}

export interface UsageAggregate {
  sum: bigint;
  count: bigint;
  last: bigint;
}

export interface IdentifierRecord {
  identifier: string;
  meterId: string;
  customer: string;
  value: bigint;
  ts: number;
  seq: bigint;
  receivedAt: number;
  cancelled: boolean;
}

const s = (v: bigint | number): string => v.toString();

const WRITE_SQL = `
WITH input AS (
  -- one JSON document: cheaper to build and to parse than nine array literals
  SELECT * FROM json_to_recordset($1::json)
    AS t(identifier text, meter_id text, customer text, value bigint, ts bigint, seq bigint, received_at bigint, payload text, win bigint)
),
ins AS (
  INSERT INTO meter_event_identifiers (identifier, meter_id, customer, value, ts, seq, received_at)
  SELECT identifier, meter_id, customer, value, ts, seq, received_at FROM input ORDER BY identifier
  ON CONFLICT (identifier) DO NOTHING
  RETURNING identifier
),
fresh AS (SELECT i.* FROM input i JOIN ins USING (identifier)),
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
)
SELECT identifier FROM ins`;
const monthStart = (t: number): number => {
  const d = new Date(t * 1000);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000;
};
const nextMonth = (t: number): number => {
  const d = new Date(t * 1000);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 1000;
};

/**
 * The usage store: the raw append-only log, the identifier dedupe index and the rollups, all
 * written in one transaction per batch (one commit, one fsync, for thousands of events).
 */
export class MeterEventStore {
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
   * One statement, so one round trip and one commit: dedupe on the identifier index (keys sorted,
   * so concurrent writers lock in the same order), append the new events to the log, and fold
   * them into the rollups (minute rows for raw meters, the latest received event per bucket for
   * pre-aggregated ones). `foldMinuteRollups`/`foldWindowBuckets` are the same rules in TypeScript.
   */
  async write(events: readonly EventToStore[], windowOf: (meterId: string) => EventTimeWindow | null): Promise<Set<string>> {
    const fresh = new Map<string, EventToStore>();
    for (const e of events) if (!fresh.has(e.identifier)) fresh.set(e.identifier, e);
    if (fresh.size === 0) return new Set();
    const list = [...fresh.values()];
    await this.ensurePartitions(list.map((e) => e.timestamp));
    const input = list.map((e) => {
      const w = windowOf(e.meterId);
      return {
        identifier: e.identifier,
        meter_id: e.meterId,
        customer: e.customer,
        value: s(e.value),
        ts: e.timestamp,
        seq: s(e.seq),
        received_at: e.receivedAt,
        payload: JSON.stringify(e.payload),
        win: w === null ? 0 : windowSeconds(w),
      };
    });
    const { rows } = await this.pool.query<{ identifier: string }>(WRITE_SQL, [JSON.stringify(input)]);
    return new Set(rows.map((r) => r.identifier));
  }

  /** Aggregates of raw meters over [start, end): whole minutes from rollups, partial minutes from the log. */
  async usageRaw(queries: readonly UsageWindowQuery[]): Promise<Map<string, UsageAggregate>> {
    if (queries.length === 0) return new Map();
    const { rows } = await this.pool.query<{ key: string; s: string | null; c: string | null; l: string | null }>(
      `SELECT q.key, x.s::text AS s, x.c::text AS c, x.l::text AS l
       FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS q(key, m, cu, s0, e0)
       CROSS JOIN LATERAL (
         SELECT sum(p.sum) AS s, sum(p.count) AS c,
                (array_agg(p.last_value ORDER BY p.last_ts DESC, p.last_seq DESC))[1] AS l
         FROM (
           SELECT r.sum, r.count, r.last_value, r.last_ts, r.last_seq FROM usage_rollups r
            WHERE r.meter_id = q.m AND r.customer = q.cu
              AND r.bucket >= ((q.s0 + 59) / 60) * 60 AND r.bucket < (q.e0 / 60) * 60
           UNION ALL -- the partial first minute, from the log (empty when start is minute-aligned)
           SELECT e.value::numeric, 1, e.value, e.ts, e.seq FROM meter_events e
            WHERE e.meter_id = q.m AND e.customer = q.cu AND e.ts >= q.s0 AND e.ts < LEAST(((q.s0 + 59) / 60) * 60, q.e0)
              AND NOT EXISTS (SELECT 1 FROM meter_event_cancellations x WHERE x.identifier = e.identifier)
           UNION ALL -- the partial last minute (empty when end is minute-aligned)
           SELECT e.value::numeric, 1, e.value, e.ts, e.seq FROM meter_events e
            WHERE e.meter_id = q.m AND e.customer = q.cu AND e.ts >= GREATEST((q.e0 / 60) * 60, ((q.s0 + 59) / 60) * 60) AND e.ts < q.e0
              AND NOT EXISTS (SELECT 1 FROM meter_event_cancellations x WHERE x.identifier = e.identifier)
         ) p
       ) x`,
      [
        queries.map((q) => q.key),
        queries.map((q) => q.meterId),
        queries.map((q) => q.customer),
        queries.map((q) => q.start),
        queries.map((q) => q.end),
      ],
    );
    return new Map(rows.map((r) => [r.key, { sum: BigInt(r.s ?? '0'), count: BigInt(r.c ?? '0'), last: BigInt(r.l ?? '0') }]));
  }

  /** Aggregates of pre-aggregated meters: the surviving event of each bucket counts when its timestamp is in [start, end). */
  async usageWindowed(queries: readonly UsageWindowQuery[]): Promise<Map<string, UsageAggregate>> {
    if (queries.length === 0) return new Map();
    const { rows } = await this.pool.query<{ key: string; s: string | null; c: string | null; l: string | null }>(
      `SELECT q.key, x.s::text AS s, x.c::text AS c, x.l::text AS l
       FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS q(key, m, cu, s0, e0)
       CROSS JOIN LATERAL (
         SELECT sum(b.value) AS s, count(*) AS c, (array_agg(b.value ORDER BY b.bucket DESC))[1] AS l
         FROM usage_buckets b
         WHERE b.meter_id = q.m AND b.customer = q.cu AND b.bucket > q.s0 - 86400 AND b.bucket < q.e0
           AND b.ts >= q.s0 AND b.ts < q.e0
       ) x`,
      [
        queries.map((q) => q.key),
        queries.map((q) => q.meterId),
        queries.map((q) => q.customer),
        queries.map((q) => q.start),
        queries.map((q) => q.end),
      ],
    );
    return new Map(rows.map((r) => [r.key, { sum: BigInt(r.s ?? '0'), count: BigInt(r.c ?? '0'), last: BigInt(r.l ?? '0') }]));
  }

  async findIdentifier(identifier: string): Promise<IdentifierRecord | undefined> {
    const { rows } = await this.pool.query<{
      identifier: string;
      meter_id: string;
      customer: string;
      value: string;
      ts: string;
      seq: string;
      received_at: string;
      cancelled: boolean;
    }>(
      `SELECT i.*, EXISTS (SELECT 1 FROM meter_event_cancellations c WHERE c.identifier = i.identifier) AS cancelled
       FROM meter_event_identifiers i WHERE i.identifier = $1`,
      [identifier],
    );
    const r = rows[0];
    return (
      r && {
        identifier: r.identifier,
        meterId: r.meter_id,
        customer: r.customer,
        value: BigInt(r.value),
        ts: Number(r.ts),
        seq: BigInt(r.seq),
        receivedAt: Number(r.received_at),
        cancelled: r.cancelled,
      }
    );
  }

  /**
   * Take a stored event out of usage: record the cancellation and correct its rollup exactly
   * (subtract; recompute `last` / the bucket's survivor from the log when it was that event).
   * Returns false when it was already cancelled.
   */
  async cancel(tx: pg.PoolClient, rec: IdentifierRecord, window: EventTimeWindow | null, at: number): Promise<boolean> {
    const ins = await tx.query(
      'INSERT INTO meter_event_cancellations (identifier, meter_id, cancelled_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [rec.identifier, rec.meterId, at],
    );
    if (ins.rowCount === 0) return false;
    const notCancelled = 'NOT EXISTS (SELECT 1 FROM meter_event_cancellations c WHERE c.identifier = e.identifier)';
    if (window === null) {
      const bucket = floorTo(rec.ts, 60);
      const { rows } = await tx.query<{ count: string; last_seq: string }>(
        `UPDATE usage_rollups SET sum = sum - $4, count = count - 1
         WHERE meter_id = $1 AND customer = $2 AND bucket = $3 RETURNING count::text, last_seq::text`,
        [rec.meterId, rec.customer, bucket, s(rec.value)],
      );
      const row = rows[0];
      if (!row) return true;
      if (row.count === '0') {
        await tx.query('DELETE FROM usage_rollups WHERE meter_id = $1 AND customer = $2 AND bucket = $3', [
          rec.meterId,
          rec.customer,
          bucket,
        ]);
      } else if (BigInt(row.last_seq) === rec.seq) {
        await tx.query(
          `UPDATE usage_rollups r SET last_value = e.value, last_ts = e.ts, last_seq = e.seq
           FROM (SELECT e.value, e.ts, e.seq FROM meter_events e
                 WHERE e.meter_id = $1 AND e.customer = $2 AND e.ts >= $3 AND e.ts < $3 + 60 AND ${notCancelled}
                 ORDER BY e.ts DESC, e.seq DESC LIMIT 1) e
           WHERE r.meter_id = $1 AND r.customer = $2 AND r.bucket = $3`,
          [rec.meterId, rec.customer, bucket],
        );
      }
      return true;
    }
    const size = windowSeconds(window);
    const bucket = floorTo(rec.ts, size);
    const { rows } = await tx.query<{ seq: string }>(
      'SELECT seq::text FROM usage_buckets WHERE meter_id = $1 AND customer = $2 AND bucket = $3 FOR UPDATE',
      [rec.meterId, rec.customer, bucket],
    );
    if (!rows[0] || BigInt(rows[0].seq) !== rec.seq) return true;
    // The survivor was cancelled: the most recently received remaining event of the bucket takes over.
    const next = await tx.query<{ value: string; ts: string; seq: string; identifier: string }>(
      `SELECT e.value::text, e.ts::text, e.seq::text, e.identifier FROM meter_events e
       WHERE e.meter_id = $1 AND e.customer = $2 AND e.ts >= $3 AND e.ts < $4 AND ${notCancelled}
       ORDER BY e.seq DESC LIMIT 1`,
      [rec.meterId, rec.customer, bucket, bucket + size],
    );
    const n = next.rows[0];
    if (!n)
      await tx.query('DELETE FROM usage_buckets WHERE meter_id = $1 AND customer = $2 AND bucket = $3', [
        rec.meterId,
        rec.customer,
        bucket,
      ]);
    else
      await tx.query(
        'UPDATE usage_buckets SET value = $4, ts = $5, seq = $6, identifier = $7 WHERE meter_id = $1 AND customer = $2 AND bucket = $3',
        [rec.meterId, rec.customer, bucket, n.value, n.ts, n.seq, n.identifier],
      );
    return true;
  }

  /** Forget identifiers received before `before` (unix seconds): the dedupe window has passed. */
  async pruneIdentifiers(before: number): Promise<number> {
    const r = await this.pool.query('DELETE FROM meter_event_identifiers WHERE received_at < $1', [before]);
    return r.rowCount ?? 0;
  }
}
