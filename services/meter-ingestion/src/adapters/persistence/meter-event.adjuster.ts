import type pg from 'pg';
import type { IdentifierRecord, UsageAdjuster } from '../../application/ports.js';
import type { EventTimeWindow } from '../../domain/meter.types.js';
import { floorTo, windowSeconds } from '../../domain/usage.rollup.js';

const s = (v: bigint | number): string => v.toString();

/** `cancel` adjustments on the usage store: find a stored event by identifier, take it out of usage exactly. */
export class MeterEventAdjuster implements UsageAdjuster {
  constructor(private readonly pool: pg.Pool) {}

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
}
