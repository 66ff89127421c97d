import { runMigrations } from '@meterflow/service-kit';
import { ratingDefinition } from './rating.definition.js';

const applied = await runMigrations(ratingDefinition);
console.log(`rating: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
