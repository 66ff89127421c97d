import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One Prometheus registry per process, served on `/metrics`. */
export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

export const rpcDuration = new Histogram({
  name: 'meterflow_rpc_duration_seconds',
  help: 'Request/reply handling time by op and outcome',
  labelNames: ['service', 'op', 'outcome'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
  registers: [metricsRegistry],
});

export const eventsPublished = new Counter({
  name: 'meterflow_relay_published_total',
  help: 'Events published by the outbox relay',
  labelNames: ['service'] as const,
  registers: [metricsRegistry],
});

export { Counter, Histogram, Registry };
