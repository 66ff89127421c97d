import { spawn } from 'node:child_process';
import { startPhasedProgress } from '@meterflow/cli';
import { createTestDatabase } from '@meterflow/testing';
import { expect, it } from 'vitest';
import { runLedgerRebuildBench } from '../../services/credit-ledger/test/ledger-rebuild.bench.js';

/**
 * Same-run baseline (the table's DDL is in the same psql call, a few ms): `psql COPY FROM STDIN` of `n` transaction-shaped rows into a table with a
 * primary key and the read model's two secondary indexes (what the rebuild ends up writing).
 */
async function copyBaseline(n: number): Promise<{ seconds: number; rowsPerSecond: number }> {
  const db = await createTestDatabase('mf_bench_copy');
  try {
    const ddl = [
      `CREATE TABLE t (id text PRIMARY KEY, credit_grant text NOT NULL, customer text NOT NULL, type text NOT NULL,
        reason text NOT NULL, amount bigint NOT NULL, created bigint NOT NULL, invoice text, idempotency_key text)`,
      'CREATE INDEX ON t (customer, id)',
      'CREATE INDEX ON t (credit_grant, id)',
    ];
    const started = performance.now();
    const psql = spawn('psql', [db.url, '-q', ...ddl.flatMap((q) => ['-c', q]), '-c', 'COPY t FROM STDIN'], {
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    const exited = new Promise<number | null>((r) => psql.once('exit', r));
    for (let i = 0; i < n;) {
      let chunk = '';
      for (const end = Math.min(n, i + 10_000); i < end; i++) {
        const g = i % 10_000;
        chunk += `cbtxn_${i}\tcredgr_${g}\tcus_${g % 1000}\tdebit\tcredits_applied\t100\t${1_800_000_000 + i}\tin_${i}\tapplied:in_${i}\n`;
      }
      if (!psql.stdin.write(chunk)) await new Promise((r) => psql.stdin.once('drain', r));
    }
    psql.stdin.end();
    if ((await exited) !== 0) throw new Error('baseline COPY failed');
    const seconds = (performance.now() - started) / 1000;
    return { seconds, rowsPerSecond: Math.round(n / seconds) };
  } finally {
    await db.drop();
  }
}

/**
 * `pnpm bench:ledger`: 1,000,000 credit-ledger events generated in a fresh database, then the
 * service's own `rebuild()` (what `pnpm --filter @meterflow/credit-ledger rebuild` runs), and a
 * plain COPY of as many rows into an indexed table as the same-run baseline.
 * Target (issue 12): <= 5 s on the 2-core dev machine. Not a timed test: it prints the number.
 */
it('credit ledger rebuild by replay', async () => {
  // Progress of the long phases on stderr (BENCH_PROGRESS=0: none), as bench:ingest and bench:close show theirs.
  const progress = process.env.BENCH_PROGRESS === '0' ? undefined : startPhasedProgress('bench:ledger');
  const r = await runLedgerRebuildBench(Boolean(process.env.BENCH_KEEP_DB), progress?.listener);
  progress?.succeed();
  const s = r.rebuildMs / 1000;
  const base = process.env.BENCH_BASELINE === '0' ? undefined : await copyBaseline(r.events);
  console.log(
    `\nledger rebuild: ${r.events.toLocaleString('en')} events -> ${r.grants.toLocaleString('en')} grants, ` +
      `${r.transactions.toLocaleString('en')} transactions in ${s.toFixed(2)} s ` +
      `(${Math.round(r.events / s).toLocaleString('en')} events/s; target <= 5 s for 1,000,000). ` +
      `Generating the events took ${(r.generateMs / 1000).toFixed(1)} s.` +
      (base
        ? `\nbaseline (same run): psql COPY of ${r.events.toLocaleString('en')} rows into an indexed table in ${base.seconds.toFixed(2)} s ` +
          `(${base.rowsPerSecond.toLocaleString('en')} rows/s); rebuild / baseline = ${(r.events / s / base.rowsPerSecond).toFixed(3)}`
        : '') +
      '\n',
  );
  expect(r.events).toBe(r.expected.events);
  expect(r.transactions).toBe(r.expected.transactions);
  expect(r.minBalance).toBe(r.expected.balance);
  expect(r.distinctBalances).toBe(1);
});
