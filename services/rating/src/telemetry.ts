import { startTelemetry } from '@meterflow/observability';

startTelemetry('rating');
