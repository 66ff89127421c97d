// Container HEALTHCHECK: GET /healthz on this service's HTTP port. The image has no curl or wget,
// so Node's fetch does it. HTTP_PORT wins; otherwise the service's documented default port.
const DEFAULT_PORTS = {
  gateway: 3000,
  'meter-ingestion': 3101,
  rating: 3102,
  invoicing: 3103,
  'credit-ledger': 3104,
};
const port = process.env.HTTP_PORT || DEFAULT_PORTS[process.env.SERVICE ?? ''] || 3000;
try {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(3000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
