import pg from 'pg';
import { progressFromEnv, type ProgressListener } from '@meterflow/contracts';
import { withTransaction } from '@meterflow/event-store';
import { loadServiceConfig } from '@meterflow/service-kit';
import { rebuildReadModels } from './adapters/projections/ledger.projection.js';
import { creditLedgerDefinition } from './credit-ledger.definition.js';

/**
 * `pnpm --filter @meterflow/credit-ledger rebuild`: empty the credit ledger's read models and
 * replay its event store into them, in one transaction (the service may keep running: readers
 * see the old rows until the new ones commit; writers wait on the table locks).
 */
export async function rebuild(
  databaseUrl: string,
  onProgress?: ProgressListener,
): Promise<{ grants: number; transactions: number; ms: number }> {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 1,
    options: `-c search_path="${creditLedgerDefinition.dbSchema}",public`,
  });
  const started = performance.now();
  try {
    const counts = await withTransaction(pool, async (tx) => {
      await tx.query('SET LOCAL synchronous_commit = off');
      await tx.query("SET LOCAL work_mem = '256MB'");
      await tx.query("SET LOCAL maintenance_work_mem = '512MB'");
      return rebuildReadModels(tx, onProgress);
    });
    return { ...counts, ms: Math.round(performance.now() - started) };
  } finally {
    await pool.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const cfg = loadServiceConfig(creditLedgerDefinition);
  const r = await rebuild(cfg.DATABASE_URL, progressFromEnv());
  console.log(`credit-ledger: rebuilt ${r.grants} grants and ${r.transactions} transactions in ${r.ms} ms`);
}
