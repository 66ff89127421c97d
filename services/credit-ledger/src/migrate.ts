// `node dist/migrate.js`: apply this service's migrations. `--check [--wait=S]`: apply nothing,
// exit 1 while any is pending (waiting up to S seconds for the migration Job to apply them).
import { runMigrations } from '@meterflow/service-kit';
import { creditLedgerDefinition } from './credit-ledger.definition.js';

await runMigrations(creditLedgerDefinition);
