import { expect, it } from 'vitest';
import { runLedgerRebuildBench } from '../../services/credit-ledger/test/ledger-rebuild.bench.js';

/**
 * `pnpm bench:ledger`: 1,000,000 credit-ledger events generated in a fresh database, then the
 * service's own `rebuild()` (what `pnpm --filter @meterflow/credit-ledger rebuild` runs).
 * Target (DESIGN.md): <= 10 s on the 2-core dev machine. Not a timed test: it prints the number.
 */
it('credit ledger rebuild by replay', async () => {
  const r = await runLedgerRebuildBench(Boolean(process.env.BENCH_KEEP_DB));
  const s = r.rebuildMs / 1000;
  console.log(
    `\nledger rebuild: ${r.events.toLocaleString('en')} events -> ${r.grants.toLocaleString('en')} grants, ` +
      `${r.transactions.toLocaleString('en')} transactions in ${s.toFixed(2)} s ` +
      `(${Math.round(r.events / s).toLocaleString('en')} events/s; target <= 10 s for 1,000,000). ` +
      `Generating the events took ${(r.generateMs / 1000).toFixed(1)} s.\n`,
  );
  expect(r.events).toBe(r.expected.events);
  expect(r.transactions).toBe(r.expected.transactions);
  expect(r.minBalance).toBe(r.expected.balance);
  expect(r.distinctBalances).toBe(1);
});
