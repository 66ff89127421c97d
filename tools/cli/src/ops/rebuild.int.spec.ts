import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProgressUpdate } from '@meterflow/contracts';
import { createTestDatabase, type TestDatabase } from '@meterflow/testing';
import pg from 'pg';
import { testConfig } from '../../test/helpers.js';
import { rebuildService } from './rebuild.js';
import { runServiceScript } from './service-script.js';

// Runs services/credit-ledger/dist (`pnpm build` first; `./mf test` does).
describe('meterflow rebuild credit-ledger (real Postgres)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('replays the event store with progress up to the last event and rebuilds the same balances', async () => {
    const cfg = testConfig(db.url, 'unused');
    expect((await runServiceScript(cfg.root, 'credit-ledger', 'migrate', { env: { DATABASE_URL: db.url } })).code).toBe(0);
    const pool = new pg.Pool({ connectionString: db.url, max: 1, options: '-c search_path=credit_ledger' });
    // 40 grants of 100.00, each with 9 postings: granted, then 8 applications of 1.00.
    await pool.query(`
      INSERT INTO events (stream_id, stream_position, event_id, type, data, metadata)
      SELECT 'credit_grant-credgr_' || g, pos, gen_random_uuid(),
        CASE WHEN pos = 1 THEN 'CreditGrantCreated' ELSE 'CreditBalanceTransactionRecorded' END,
        CASE WHEN pos = 1 THEN jsonb_build_object('id', 'credgr_' || g, 'customer', 'cus_' || g, 'test_clock', null,
               'currency', 'usd', 'amount', '10000', 'category', 'paid', 'scope', '{"price_type":"metered","prices":null}'::jsonb,
               'priority', 50, 'effective_at', 1800000000, 'expires_at', null, 'name', null, 'metadata', '{}'::jsonb, 'created', 1800000000)
        ELSE jsonb_build_object('id', 'cbtxn_' || g || '_' || pos, 'credit_grant', 'credgr_' || g, 'customer', 'cus_' || g,
               'test_clock', null, 'currency', 'usd', 'type', CASE WHEN pos = 2 THEN 'credit' ELSE 'debit' END,
               'reason', CASE WHEN pos = 2 THEN 'credits_granted' ELSE 'credits_applied' END,
               'amount', CASE WHEN pos = 2 THEN 10000 ELSE 100 END, 'effective_at', 1800000000 + pos, 'created', 1800000000 + pos,
               'invoice', null, 'invoice_line_item', null, 'idempotency_key', 'k' || g || '_' || pos) END,
        jsonb_build_object('eventId', gen_random_uuid(), 'streamId', 'credit_grant-credgr_' || g, 'occurredAt', '2027-01-15T08:00:00Z')
      FROM generate_series(1, 10) pos, generate_series(1, 40) g ORDER BY pos, g`);

    const updates: ProgressUpdate[] = [];
    const r = await rebuildService(cfg, 'credit-ledger', (p) => updates.push(p));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.output.join('\n')).toMatch(/rebuilt 40 grants and 360 transactions/);
    const replay = updates.filter((u) => u.phase === 'replay');
    expect(replay.at(-1)).toEqual({ phase: 'replay', done: 400, total: 400, unit: 'events' });
    // ('indexes' is a phase of its own only on the fallback path; the swap rebuilds them inside the replay.)
    expect(updates.map((u) => u.phase)).toEqual(expect.arrayContaining(['replay', 'grants']));
    const { rows } = await pool.query<{ b: string }>('SELECT DISTINCT ledger_balance::text AS b FROM credit_grants');
    expect(rows).toEqual([{ b: '9200' }]);
    await pool.end();
  });
});
