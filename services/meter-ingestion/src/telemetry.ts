import { startTelemetry } from '@meterflow/observability';

startTelemetry('meter-ingestion');
