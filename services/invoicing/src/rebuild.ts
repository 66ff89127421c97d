// Drops the invoicing read models and replays the event store into them: `node dist/rebuild.js`.
import pg from 'pg';
import { progressFromEnv } from '@meterflow/contracts';
import { PgEventStore } from '@meterflow/event-store';
import { loadServiceConfig } from '@meterflow/service-kit';
import { rebuildReadModels } from './adapters/projections/invoice.projection.js';
import { invoicingDefinition } from './invoicing.definition.js';

const config = loadServiceConfig(invoicingDefinition);
const pool = new pg.Pool({ connectionString: config.DATABASE_URL, options: `-c search_path="${invoicingDefinition.dbSchema}",public` });
try {
  const counts = await rebuildReadModels(new PgEventStore(pool, invoicingDefinition.dbSchema), 5_000, progressFromEnv());
  console.log(`rebuilt ${counts.invoices} invoices and ${counts.items} invoice items`);
} finally {
  await pool.end();
}
