import { runMigrations } from '@meterflow/service-kit';
import { gatewayDefinition } from './gateway.definition.js';

await runMigrations(gatewayDefinition);
