import { runMigrations } from '@meterflow/service-kit';
import { creditLedgerDefinition } from './credit-ledger.definition.js';

const applied = await runMigrations(creditLedgerDefinition);
console.log(applied.length ? `credit-ledger: applied ${applied.join(', ')}` : 'credit-ledger: up to date');
