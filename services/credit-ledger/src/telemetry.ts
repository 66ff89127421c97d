import { startTelemetry } from '@meterflow/observability';

startTelemetry('credit-ledger');
