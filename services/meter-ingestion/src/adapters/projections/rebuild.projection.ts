import type pg from 'pg';
import type { ProgressListener } from '@meterflow/contracts';
import type { PgEventStore, StoredEvent } from '@meterflow/event-store';
import { withTransaction } from '@meterflow/event-store';
import { evolveAlert, type AlertState } from '../../domain/alert.decider.js';
import { evolveMeter, type MeterState } from '../../domain/meter.decider.js';
import { AlertRepository } from '../persistence/alert.repository.js';
import { MeterRepository } from '../persistence/meter.repository.js';

interface Folded<S> {
  prefix: string;
  evolve: (s: S, e: StoredEvent) => S;
  initial: S;
  states: Map<string, { state: S; version: number }>;
}
const folded = <S>(prefix: string, evolve: (s: S, e: StoredEvent) => S, initial: S): Folded<S> => ({
  prefix,
  evolve,
  initial,
  states: new Map(),
});

/** Every stream of each prefix, folded in one pass; the version is the stream's last position (as live). */
async function fold(store: PgEventStore, folds: readonly Folded<never>[], onProgress?: ProgressListener): Promise<void> {
  const total = onProgress ? await store.lastPosition() : 0;
  let after = 0n;
  for (;;) {
    const page = await store.readAll({ after, limit: 5000 });
    if (page.length === 0) break;
    for (const e of page) {
      const f = folds.find((x) => e.streamId.startsWith(x.prefix));
      if (!f) continue;
      const cur = f.states.get(e.streamId) ?? { state: f.initial, version: 0 };
      f.states.set(e.streamId, { state: f.evolve(cur.state, e), version: e.streamPosition });
    }
    after = page[page.length - 1]!.globalPosition;
    onProgress?.({ phase: 'replay', done: Number(after), total, unit: 'events' });
  }
}

/**
 * Rebuild every read model of the service: meters and alerts by replaying the event store,
 * rollups and buckets by re-folding the raw meter-event log (minus cancellations). The rebuilt
 * state must equal the live one; `pnpm --filter @meterflow/meter-ingestion rebuild` runs it.
 */
export async function rebuildReadModels(
  store: PgEventStore,
  pool: pg.Pool,
  onProgress?: ProgressListener,
): Promise<{ meters: number; alerts: number; rollups: number; buckets: number }> {
  const meterFold = folded<MeterState>('meter-mtr_', evolveMeter, null);
  const alertFold = folded<AlertState>('alert-alrt_', evolveAlert, null);
  await fold(store, [meterFold, alertFold] as unknown as Folded<never>[], onProgress);
  const meters = meterFold.states;
  const alerts = alertFold.states;
  return withTransaction(pool, async (tx) => {
    // Stop writers while the rollups are re-folded (a batch committed meanwhile would be lost).
    await tx.query('LOCK TABLE meters, alerts, usage_rollups, usage_buckets IN EXCLUSIVE MODE');
    await tx.query('DELETE FROM meters');
    await tx.query('DELETE FROM alerts');
    const meterRepo = new MeterRepository(pool);
    const alertRepo = new AlertRepository(pool);
    for (const { state, version } of meters.values()) if (state) await meterRepo.save(tx, state, version);
    for (const { state, version } of alerts.values()) if (state) await alertRepo.save(tx, state, version);
    onProgress?.({ phase: 'rollups', done: 0, total: 0, unit: '' });
    await tx.query('DELETE FROM usage_rollups');
    await tx.query('DELETE FROM usage_buckets');
    const notCancelled = 'NOT EXISTS (SELECT 1 FROM meter_event_cancellations c WHERE c.identifier = e.identifier)';
    const rollups = await tx.query(
      `INSERT INTO usage_rollups (meter_id, customer, bucket, sum, count, last_value, last_ts, last_seq)
       SELECT e.meter_id, e.customer, e.ts - e.ts % 60, sum(e.value), count(*),
              (array_agg(e.value ORDER BY e.ts DESC, e.seq DESC))[1], max(e.ts), (array_agg(e.seq ORDER BY e.ts DESC, e.seq DESC))[1]
       FROM meter_events e JOIN meters m ON m.id = e.meter_id
       WHERE m.body->>'eventTimeWindow' IS NULL AND ${notCancelled}
       GROUP BY e.meter_id, e.customer, e.ts - e.ts % 60`,
    );
    const buckets = await tx.query(
      `INSERT INTO usage_buckets (meter_id, customer, bucket, value, ts, seq, identifier)
       SELECT DISTINCT ON (e.meter_id, e.customer, e.ts - e.ts % w.size)
              e.meter_id, e.customer, e.ts - e.ts % w.size, e.value, e.ts, e.seq, e.identifier
       FROM meter_events e JOIN meters m ON m.id = e.meter_id
       CROSS JOIN LATERAL (SELECT CASE m.body->>'eventTimeWindow' WHEN 'hour' THEN 3600 ELSE 86400 END::bigint AS size) w
       WHERE m.body->>'eventTimeWindow' IS NOT NULL AND ${notCancelled}
       ORDER BY e.meter_id, e.customer, e.ts - e.ts % w.size, e.seq DESC`,
    );
    return { meters: meters.size, alerts: alerts.size, rollups: rollups.rowCount ?? 0, buckets: buckets.rowCount ?? 0 };
  });
}
