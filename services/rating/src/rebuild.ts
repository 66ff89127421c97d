import 'reflect-metadata';
import pg from 'pg';
import { progressFromEnv } from '@meterflow/contracts';
import { PgEventStore } from '@meterflow/event-store';
import { loadServiceConfig } from '@meterflow/service-kit';
import { rebuildReadModels } from './adapters/projections/read-model.rebuild.js';
import { ratingReadModels } from './adapters/persistence/read-models.js';
import { ratingDefinition } from './rating.definition.js';

/** `node dist/rebuild.js`: drop rating's read models and replay its event store into them. */
const config = loadServiceConfig(ratingDefinition);
const pool = new pg.Pool({ connectionString: config.DATABASE_URL, options: `-c search_path="${ratingDefinition.dbSchema}",public` });
try {
  const store = new PgEventStore(pool, ratingDefinition.dbSchema);
  const started = Date.now();
  const res = await rebuildReadModels(store, ratingReadModels(pool), 5_000, progressFromEnv());
  console.log(`rating: rebuilt ${res.streams} streams from ${res.events} events in ${Date.now() - started} ms`);
} finally {
  await pool.end();
}
