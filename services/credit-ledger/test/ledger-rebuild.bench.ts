import pg from 'pg';
import type { ProgressListener } from '@meterflow/contracts';
import { applyMigrations } from '@meterflow/service-kit';
import { createTestDatabase, type TestDatabase } from '@meterflow/testing';
import { creditLedgerDefinition } from '../src/credit-ledger.definition.js';
import { rebuild } from '../src/rebuild.js';

/**
 * Credit ledger rebuild by replay: 1,000,000 ledger events in a fresh database, then the same
 * `rebuild()` the `rebuild` command runs. Target (DESIGN.md): <= 10 s on the 2-core dev box.
 *
 * Shape: 10,000 grants over 1,000 customers, each stream = CreditGrantCreated, credits_granted,
 * then 98 credits_applied postings, interleaved across streams in global order.
 * Env: BENCH_LEDGER_GRANTS (default 10000), BENCH_LEDGER_EVENTS_PER_GRANT (default 100).
 */
const GRANTS = Number(process.env.BENCH_LEDGER_GRANTS ?? 10_000);
const PER_GRANT = Number(process.env.BENCH_LEDGER_EVENTS_PER_GRANT ?? 100);
const AMOUNT = 1_000_000;
const APPLIED = 100;
const T0 = 1_800_000_000;

const posting = (reason: string, type: string, amount: string, key: string, invoice: string, line: string) => `
  jsonb_build_object('id', 'cbtxn_' || lpad(g::text, 6, '0') || lpad(pos::text, 4, '0'),
    'credit_grant', 'credgr_' || lpad(g::text, 6, '0'), 'customer', 'cus_' || lpad((g % 1000)::text, 4, '0'),
    'test_clock', null, 'currency', 'usd', 'type', '${type}', 'reason', '${reason}', 'amount', ${amount},
    'effective_at', ${T0} + pos, 'created', ${T0} + pos, 'invoice', ${invoice}, 'invoice_line_item', ${line},
    'idempotency_key', ${key})`;

export interface LedgerBenchResult {
  events: number;
  grants: number;
  transactions: number;
  rebuildMs: number;
  generateMs: number;
  minBalance: number;
  distinctBalances: number;
  expected: { events: number; transactions: number; balance: number };
}

/**
 * Generate the events in a fresh database, rebuild, report; the database is dropped unless `keep`.
 * `onProgress` hears the generation (`generate`, events) and then the rebuild's own phases.
 */
export async function runLedgerRebuildBench(keep = false, onProgress?: ProgressListener): Promise<LedgerBenchResult> {
  const db: TestDatabase = await createTestDatabase('mf_bench_ledger');
  try {
    return await runIn(db, onProgress);
  } finally {
    if (!keep) await db.drop();
  }
}

async function runIn(db: TestDatabase, onProgress?: ProgressListener): Promise<LedgerBenchResult> {
  await applyMigrations(db.url, creditLedgerDefinition.dbSchema, creditLedgerDefinition.migrations);
  const pool = new pg.Pool({ connectionString: db.url, max: 1, options: `-c search_path=${creditLedgerDefinition.dbSchema}` });
  const genStart = performance.now();
  const batch = Math.max(1, Math.floor(100_000 / GRANTS));
  const total = GRANTS * PER_GRANT;
  onProgress?.({ phase: 'generate', done: 0, total, unit: 'events' });
  for (let from = 1; from <= PER_GRANT; from += batch) {
    const to = Math.min(PER_GRANT, from + batch - 1);
    await pool.query(`
      INSERT INTO events (stream_id, stream_position, event_id, type, schema_version, data, metadata)
      SELECT 'credit_grant-credgr_' || lpad(g::text, 6, '0'), pos, gen_random_uuid(),
        CASE WHEN pos = 1 THEN 'CreditGrantCreated' ELSE 'CreditBalanceTransactionRecorded' END, 1,
        CASE WHEN pos = 1 THEN jsonb_build_object('id', 'credgr_' || lpad(g::text, 6, '0'),
               'customer', 'cus_' || lpad((g % 1000)::text, 4, '0'), 'test_clock', null, 'currency', 'usd',
               'amount', '${AMOUNT}', 'category', 'paid', 'scope', '{"price_type":"metered","prices":null}'::jsonb,
               'priority', 50, 'effective_at', ${T0}, 'expires_at', null, 'name', null, 'metadata', '{}'::jsonb, 'created', ${T0})
             WHEN pos = 2 THEN ${posting('credits_granted', 'credit', `'${AMOUNT}'`, `'granted'`, 'null', 'null')}
             ELSE ${posting(
               'credits_applied',
               'debit',
               `'${APPLIED}'`,
               `'applied:in_' || g || '_' || pos || ':il_' || g || '_' || pos`,
               `'in_' || g || '_' || pos`,
               `'il_' || g || '_' || pos`,
             )}
        END,
        jsonb_build_object('eventId', gen_random_uuid(), 'streamId', 'credit_grant-credgr_' || lpad(g::text, 6, '0'),
                           'occurredAt', to_char(now(), 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
      FROM generate_series(${from}, ${to}) pos, generate_series(1, ${GRANTS}) g
      ORDER BY pos, g`);
    onProgress?.({ phase: 'generate', done: to * GRANTS, total, unit: 'events' });
  }
  await pool.query('VACUUM ANALYZE events');
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM events');
  const events = Number(rows[0]!.n);
  const genMs = performance.now() - genStart;

  const r = await rebuild(db.url, onProgress);
  const check = await pool.query<{ b: string; n: string }>(
    'SELECT min(ledger_balance) AS b, count(DISTINCT ledger_balance) AS n FROM credit_grants',
  );
  await pool.end();
  return {
    events,
    grants: r.grants,
    transactions: r.transactions,
    rebuildMs: r.ms,
    generateMs: Math.round(genMs),
    minBalance: Number(check.rows[0]!.b),
    distinctBalances: Number(check.rows[0]!.n),
    expected: { events: GRANTS * PER_GRANT, transactions: GRANTS * (PER_GRANT - 1), balance: AMOUNT - (PER_GRANT - 2) * APPLIED },
  };
}
