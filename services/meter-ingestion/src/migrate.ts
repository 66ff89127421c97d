import { runMigrations } from '@meterflow/service-kit';
import { meterIngestionDefinition } from './meter-ingestion.definition.js';

const applied = await runMigrations(meterIngestionDefinition);
console.log(`meter-ingestion: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
