import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { applyMigrations } from '@meterflow/service-kit';
import { createTestDatabase, type TestDatabase } from '@meterflow/testing';
import { MeterEventStore, SMALL_BATCH_EVENTS } from '../src/adapters/persistence/meter-event.store.js';
import type { EventToStore } from '../src/application/ports.js';
import { meterIngestionDefinition } from '../src/meter-ingestion.definition.js';

/**
 * The writer's two encodings of a batch (issue 12): small batches as one JSON parameter to a
 * prepared statement, larger ones by COPY into the staging table. Same dedupe, log and rollups.
 */
describe('MeterEventStore.write (int)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let seq = 0n;
  const T = 1_800_000_000;
  const ev = (customer: string, identifier: string, value: number, timestamp = T): EventToStore => ({
    meterId: 'mtr_1',
    customer,
    value: BigInt(value),
    timestamp,
    seq: ++seq,
    identifier,
    receivedAt: T,
    payload: { stripe_customer_id: customer, value: String(value), note: 'tab\there "quoted" \\ back' },
  });
  const rollup = async (customer: string) =>
    (
      await pool.query<{ sum: string; count: string; last_value: string }>(
        'SELECT sum(sum)::text AS sum, sum(count)::text AS count, max(last_value)::text AS last_value FROM usage_rollups WHERE customer = $1',
        [customer],
      )
    ).rows[0];

  beforeAll(async () => {
    db = await createTestDatabase();
    await applyMigrations(db.url, meterIngestionDefinition.dbSchema, meterIngestionDefinition.migrations);
    pool = new pg.Pool({ connectionString: db.url, max: 2, options: `-c search_path=${meterIngestionDefinition.dbSchema}` });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('dedupes, logs and rolls up the same way through both encodings', async () => {
    const store = new MeterEventStore(pool);
    const noWindow = () => null;
    const big = Array.from({ length: SMALL_BATCH_EVENTS + 44 }, (_, i) => ev('cus_big', `big-${i}`, 2, T + (i % 120)));
    const small = Array.from({ length: 20 }, (_, i) => ev('cus_small', `small-${i}`, 3, T + (i % 120)));

    // First writes: every event is new (COPY for the big batch, the prepared statement for the small one).
    expect((await store.write(big, noWindow)).size).toBe(big.length);
    expect((await store.write(small, noWindow)).size).toBe(small.length);
    // Again, each through the other encoding: duplicates only, nothing counted twice.
    const smallOfBig = big.slice(0, 10).map((e) => ({ ...e, seq: ++seq }));
    const bigWithSmall = [...small, ...Array.from({ length: SMALL_BATCH_EVENTS }, (_, i) => ev('cus_small', `more-${i}`, 1, T))];
    expect((await store.write(smallOfBig, noWindow)).size).toBe(0);
    const fresh = await store.write(bigWithSmall, noWindow);
    expect(fresh.size).toBe(SMALL_BATCH_EVENTS);
    expect([...fresh].every((id) => id.startsWith('more-'))).toBe(true);

    expect(await rollup('cus_big')).toEqual({ sum: String(2 * big.length), count: String(big.length), last_value: '2' });
    expect(await rollup('cus_small')).toEqual({
      sum: String(3 * small.length + SMALL_BATCH_EVENTS),
      count: String(small.length + SMALL_BATCH_EVENTS),
      last_value: '3',
    });
    const { rows } = await pool.query<{ n: string; payload: string }>(
      "SELECT count(*) OVER ()::text AS n, payload FROM meter_events WHERE identifier IN ('big-0', 'small-0')",
    );
    expect(rows.map((r) => r.n)).toEqual(['2', '2']);
    for (const r of rows) expect(JSON.parse(r.payload)).toMatchObject({ note: 'tab\there "quoted" \\ back' });
  });

  it('keeps every id column in the C collation, so lookups across tables keep their indexes', async () => {
    const { rows } = await pool.query<{ col: string; collation: string | null }>(
      `SELECT c.table_name || '.' || c.column_name AS col, c.collation_name AS collation
         FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.data_type = 'text'
          AND c.column_name IN ('identifier', 'meter_id', 'customer', 'alert_id', 'id')
          AND c.table_name NOT IN ('events', 'outbox', 'schema_migrations') AND c.table_name NOT LIKE 'meter_events_p%'
        ORDER BY 1`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(15);
    expect(rows.filter((r) => r.collation !== 'C')).toEqual([]);
    // A cancelled-event lookup from the log probes the cancellations' primary key (same collation).
    // On one connection, in one transaction (`SET LOCAL`), so no pooled connection keeps the setting.
    const client = await pool.connect();
    let plan: string;
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL enable_seqscan = off');
      plan = (
        await client.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN SELECT 1 FROM meter_events e WHERE e.meter_id = 'mtr_1' AND e.customer = 'cus_big'
         AND NOT EXISTS (SELECT 1 FROM meter_event_cancellations x WHERE x.identifier = e.identifier)`,
        )
      ).rows
        .map((r) => r['QUERY PLAN'])
        .join('\n');
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    expect(plan).toContain('meter_event_cancellations_pkey');
  });
});
