import { startTelemetry } from '@meterflow/observability';

startTelemetry('invoicing');
