import './telemetry.js';
import { bootstrapService } from '@meterflow/service-kit';
import { meterIngestionDefinition } from './meter-ingestion.definition.js';
import { MeterIngestionModule } from './meter-ingestion.module.js';

await bootstrapService(meterIngestionDefinition, MeterIngestionModule);
