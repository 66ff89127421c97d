import './telemetry.js';
import { bootstrapService } from '@meterflow/service-kit';
import { creditLedgerDefinition } from './credit-ledger.definition.js';
import { CreditLedgerModule } from './credit-ledger.module.js';

await bootstrapService(creditLedgerDefinition, CreditLedgerModule);
