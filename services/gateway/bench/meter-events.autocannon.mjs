// Load for POST /v1/billing/meter_events shaped like stripe-node's: form body, Bearer key and a
// fresh Idempotency-Key per request. Usage: node meter-events.autocannon.mjs <baseUrl> [seconds] [connections]
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';

const [base = 'http://127.0.0.1:3000', seconds = '10', connections = '64', key = 'sk_test_meterflow'] = process.argv.slice(2);
const run = randomUUID().slice(0, 8);
let n = 0;

// MF_BENCH_METRICS="gateway=http://127.0.0.1:3000/metrics,ingestion=http://...": CPU seconds of
// each service process (from /metrics) before and after, reported per request.
const metrics = (process.env.MF_BENCH_METRICS ?? '')
  .split(',')
  .filter(Boolean)
  .map((e) => e.split('='));
const cpuSeconds = async () =>
  Object.fromEntries(
    await Promise.all(
      metrics.map(async ([name, url]) => {
        const text = await (await fetch(url)).text();
        return [name, Number(/^process_cpu_seconds_total (\S+)$/m.exec(text)?.[1] ?? NaN)];
      }),
    ),
  );
const cpuBefore = await cpuSeconds();

const result = await autocannon({
  url: base,
  connections: Number(connections),
  duration: Number(seconds),
  // MF_BENCH_RATE: fixed total requests/s (compare CPU per request at equal load).
  ...(process.env.MF_BENCH_RATE ? { overallRate: Number(process.env.MF_BENCH_RATE) } : {}),
  requests: [
    {
      method: 'POST',
      path: '/v1/billing/meter_events',
      setupRequest: (req) => {
        const i = n++;
        return {
          ...req,
          headers: {
            authorization: `Bearer ${key}`,
            'content-type': 'application/x-www-form-urlencoded',
            ...(process.env.MF_BENCH_NO_IDEMPOTENCY ? {} : { 'idempotency-key': `stripe-node-retry-${run}-${i}` }),
            'stripe-version': '2026-07-29.dahlia',
          },
          body: `event_name=api_calls&payload[stripe_customer_id]=cus_${i % 500}&payload[value]=1&identifier=${run}_${i}`,
        };
      },
    },
  ],
});
const cpuAfter = await cpuSeconds();
const cpuUsPerRequest = Object.fromEntries(
  Object.keys(cpuAfter).map((k) => [k, Math.round(((cpuAfter[k] - cpuBefore[k]) * 1e6) / result.requests.total)]),
);
console.log(
  JSON.stringify({
    cpu_us_per_request: cpuUsPerRequest,
    rps: result.requests.average,
    total: result.requests.total,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  }),
);
