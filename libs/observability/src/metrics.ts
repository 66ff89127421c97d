import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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

/** Consumer lag, sampled from JetStream's consumer info by every durable consumer (libs/messaging). */
export const consumerPending = new Gauge({
  name: 'meterflow_consumer_pending_messages',
  help: 'Messages of the stream not yet delivered to the durable consumer (JetStream num_pending), sampled',
  labelNames: ['service', 'stream', 'consumer'] as const,
  registers: [metricsRegistry],
});

export const consumerAckPending = new Gauge({
  name: 'meterflow_consumer_ack_pending_messages',
  help: 'Messages delivered to the durable consumer and not yet acknowledged (JetStream num_ack_pending), sampled',
  labelNames: ['service', 'stream', 'consumer'] as const,
  registers: [metricsRegistry],
});

export const deadLetters = new Counter({
  name: 'meterflow_dead_letters_total',
  help: 'Messages and events kept as dead letters (never dropped), by reason class',
  labelNames: ['service', 'reason'] as const,
  registers: [metricsRegistry],
});

export const webhookDeliveries = new Counter({
  name: 'meterflow_webhook_deliveries_total',
  help: 'Webhook delivery attempts: succeeded (2xx), failed (retried later) or gave_up (retry window closed)',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});

/**
 * A dead letter's reason as a bounded label: the leading code of `<code>: text` reasons (meter
 * error-report codes such as `meter_event_customer_not_found`, `invalid_json`), `retries_exhausted`
 * for `gave up after N failed attempts`, `rejected` otherwise (a handler's own reason text).
 */
export function deadLetterReason(reason: string): string {
  if (/^gave up after/.test(reason)) return 'retries_exhausted';
  return /^([a-z][a-z0-9_]{0,63}):/.exec(reason)?.[1] ?? 'rejected';
}

/** Count `reasons.length` dead letters of `service`. */
export function countDeadLetters(service: string, reasons: readonly string[]): void {
  const by = new Map<string, number>();
  for (const r of reasons) {
    const k = deadLetterReason(r);
    by.set(k, (by.get(k) ?? 0) + 1);
  }
  for (const [reason, n] of by) deadLetters.inc({ service, reason }, n);
}

export { Counter, Gauge, Histogram, Registry };

/** The current value of one series of `name` in this process's registry (tests, `doctor`); undefined when absent. */
export async function metricValue(name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = metricsRegistry.getSingleMetric(name);
  if (!metric) return undefined;
  const { values } = await metric.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want));
  return hit?.value;
}
