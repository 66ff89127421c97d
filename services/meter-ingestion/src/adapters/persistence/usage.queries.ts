import type pg from 'pg';
import type { UsageAggregate, UsageReader, UsageWindowQuery } from '../../application/ports.js';

/** Usage over time windows, from the rollups (raw meters) and the buckets (pre-aggregated meters). */
export class UsageQueries implements UsageReader {
  constructor(private readonly pool: pg.Pool) {}

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
}
