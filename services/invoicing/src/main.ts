import './telemetry.js';
import { bootstrapService } from '@meterflow/service-kit';
import { invoicingDefinition } from './invoicing.definition.js';
import { InvoicingModule } from './invoicing.module.js';

await bootstrapService(invoicingDefinition, InvoicingModule);
