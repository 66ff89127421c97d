// Rebuilds the meter-ingestion read models (meters, alerts from the event store; rollups from the
// raw meter-event log): `node dist/rebuild.js`.
import pg from 'pg';
import { progressFromEnv } from '@meterflow/contracts';
import { PgEventStore } from '@meterflow/event-store';
import { loadServiceConfig } from '@meterflow/service-kit';
import { rebuildReadModels } from './adapters/projections/rebuild.projection.js';
import { meterIngestionDefinition } from './meter-ingestion.definition.js';

const config = loadServiceConfig(meterIngestionDefinition);
const pool = new pg.Pool({
  connectionString: config.DATABASE_URL,
  options: `-c search_path="${meterIngestionDefinition.dbSchema}",public`,
});
try {
  const c = await rebuildReadModels(new PgEventStore(pool, meterIngestionDefinition.dbSchema), pool, progressFromEnv());
  console.log(`rebuilt ${c.meters} meters, ${c.alerts} alerts, ${c.rollups} minute rollups, ${c.buckets} buckets`);
} finally {
  await pool.end();
}
