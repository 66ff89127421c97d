import { runMigrations } from '@meterflow/service-kit';
import { invoicingDefinition } from './invoicing.definition.js';

const applied = await runMigrations(invoicingDefinition);
console.log(`invoicing: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
