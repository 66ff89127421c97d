import { Histogram, metricsRegistry } from '@meterflow/observability';

const apiDuration = new Histogram({
  name: 'meterflow_gateway_request_duration_seconds',
  help: 'Stripe API requests by op and HTTP status, end to end through the gateway',
  labelNames: ['op', 'status'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
  registers: [metricsRegistry],
});

// Label children cached: this runs on every request.
const children = new Map<string, { observe(v: number): void }>();

export function observeApiRequest(op: string, status: number, startedAt: bigint): void {
  const k = `${op}\0${status}`;
  let child = children.get(k);
  if (!child) {
    child = apiDuration.labels(op, String(status));
    children.set(k, child);
  }
  child.observe(Number(process.hrtime.bigint() - startedAt) / 1e9);
}
