import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { applyMigrations } from '@meterflow/service-kit';
import { createTestDatabase, type TestDatabase } from '@meterflow/testing';
import { MeterEventStore, SMALL_BATCH_EVENTS } from '../src/adapters/persistence/meter-event.store.js';
import type { EventToStore, KeyedResponse } from '../src/application/ports.js';
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
    expect((await store.write(big, noWindow)).fresh.size).toBe(big.length);
    expect((await store.write(small, noWindow)).fresh.size).toBe(small.length);
    // Again, each through the other encoding: duplicates only, nothing counted twice.
    const smallOfBig = big.slice(0, 10).map((e) => ({ ...e, seq: ++seq }));
    const bigWithSmall = [...small, ...Array.from({ length: SMALL_BATCH_EVENTS }, (_, i) => ev('cus_small', `more-${i}`, 1, T))];
    expect((await store.write(smallOfBig, noWindow)).fresh.size).toBe(0);
    const { fresh } = await store.write(bigWithSmall, noWindow);
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

  describe('with Idempotency-Key claims (ApiRoute.idempotency "service")', () => {
    const claim = (key: string, paramsHash = 'h1', body = `{"key":"${key}"}`): KeyedResponse => ({
      scope: 'acct_1',
      key,
      method: 'POST',
      path: '/v1/billing/meter_events',
      paramsHash,
      status: 200,
      body,
    });
    const keyedEv = (key: string, identifier: string, paramsHash?: string): EventToStore => ({
      ...ev('cus_keyed', identifier, 5),
      keyed: claim(key, paramsHash),
    });
    const record = async (key: string) =>
      (
        await pool.query<{ status: number; response: string; params_hash: string }>(
          'SELECT status, response, params_hash FROM idempotency_keys WHERE scope = $1 AND key = $2',
          ['acct_1', key],
        )
      ).rows;
    const storedWith = async (identifier: string) =>
      Number((await pool.query('SELECT count(*) FROM meter_events WHERE identifier = $1', [identifier])).rows[0].count);

    it('stores the key and its response with the event, and answers a repeat with the record instead of storing it', async () => {
      const store = new MeterEventStore(pool);
      const first = await store.write([keyedEv('k-1', 'kid-1')], () => null);
      expect([...first.fresh]).toEqual(['kid-1']);
      expect(first.taken.size).toBe(0);
      expect(await record('k-1')).toEqual([{ status: 200, response: '{"key":"k-1"}', params_hash: 'h1' }]);

      // The same key again (a retry: a new generated identifier), alone and among unkeyed events.
      const again = await store.write(
        [ev('cus_keyed', 'plain-1', 1), keyedEv('k-1', 'kid-1b', 'h2'), ev('cus_keyed', 'plain-2', 1)],
        () => null,
      );
      expect([...again.fresh].sort()).toEqual(['plain-1', 'plain-2']);
      expect(again.taken.get('acct_1\0k-1')).toMatchObject({ status: 200, body: '{"key":"k-1"}', paramsHash: 'h1', method: 'POST' });
      expect(await storedWith('kid-1b')).toBe(0);
      expect(await rollup('cus_keyed')).toMatchObject({ sum: '7', count: '3' });
    });

    it('takes over a record older than 24 hours', async () => {
      const store = new MeterEventStore(pool);
      await store.write([keyedEv('k-old', 'kid-old-1')], () => null);
      await pool.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'k-old'`);
      const again = await store.write([keyedEv('k-old', 'kid-old-2', 'h9')], () => null);
      expect([...again.fresh]).toEqual(['kid-old-2']);
      expect(await record('k-old')).toEqual([{ status: 200, response: '{"key":"k-old"}', params_hash: 'h9' }]);
      expect(await store.pruneIdempotencyKeys()).toBe(0);
    });

    it('a duplicate identifier claims no key (its 400 is not stored)', async () => {
      const store = new MeterEventStore(pool);
      await store.write([ev('cus_keyed', 'kid-dup', 1)], () => null);
      const r = await store.write([keyedEv('k-dup', 'kid-dup')], () => null);
      expect(r.fresh.size).toBe(0);
      expect(r.taken.size).toBe(0);
      expect(await record('k-dup')).toEqual([]);
    });

    it('a key claimed by a concurrent transaction first: the write rolls back and runs again, storing nothing', async () => {
      const store = new MeterEventStore(pool);
      const other = await pool.connect();
      try {
        await other.query('BEGIN');
        await other.query(
          `INSERT INTO idempotency_keys (scope, key, method, path, params_hash, status, response) VALUES ('acct_1', 'k-race', 'POST', '/v1/billing/meter_events', 'h1', 200, '{"first":true}')`,
        );
        // Blocks on the uncommitted key, then finds it claimed: aborted, run again, answered with the record.
        const pending = store.write([ev('cus_race', 'race-plain', 1), keyedEv('k-race', 'race-keyed')], () => null);
        await new Promise((r) => setTimeout(r, 300));
        await other.query('COMMIT');
        const r = await pending;
        expect([...r.fresh]).toEqual(['race-plain']);
        expect(r.taken.get('acct_1\0k-race')).toMatchObject({ body: '{"first":true}' });
      } finally {
        other.release();
      }
      expect(await storedWith('race-keyed')).toBe(0);
      expect(await storedWith('race-plain')).toBe(1);
      expect(await rollup('cus_race')).toMatchObject({ sum: '1', count: '1' });
    });

    it('a large mixed batch goes through the keyed statement whole', async () => {
      const store = new MeterEventStore(pool);
      const many = Array.from({ length: SMALL_BATCH_EVENTS + 10 }, (_, i) => ev('cus_mixed', `mixed-${i}`, 1));
      const r = await store.write([...many, { ...ev('cus_mixed', 'mixed-keyed', 1), keyed: claim('k-mixed') }], () => null);
      expect(r.fresh.size).toBe(many.length + 1);
      expect(await rollup('cus_mixed')).toMatchObject({ sum: String(many.length + 1), count: String(many.length + 1) });
      expect(await record('k-mixed')).toHaveLength(1);
    });
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
