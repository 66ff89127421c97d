import { Counter, Histogram, metricsRegistry } from '@meterflow/observability';

export const flushSeconds = new Histogram({
  name: 'meterflow_ingest_flush_seconds',
  help: 'Time of one usage-store transaction (dedupe, raw log, rollups)',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [metricsRegistry],
});
export const flushEvents = new Histogram({
  name: 'meterflow_ingest_flush_events',
  help: 'Events per usage-store transaction',
  buckets: [1, 10, 100, 1000, 5000, 10000, 20000, 50000],
  registers: [metricsRegistry],
});
export const ingestEvents = new Counter({
  name: 'meterflow_ingest_events_total',
  help: 'Meter events by outcome',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});
