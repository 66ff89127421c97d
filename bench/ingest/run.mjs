// `pnpm bench:ingest`: the meter-ingestion service on a fresh database and NATS namespace,
// fed by producers publishing batches of 100 events (1% duplicate identifiers) to MF_INGEST.
// Measures sustained events/s, publish-to-queryable latency (p50/p99, via usage.query), checks
// totals exactly, samples the service's memory. BENCH_MODE=http measures one event per request
// (through the gateway when GATEWAY_URL is set, otherwise the same op over NATS request/reply).
//
//   BENCH_EVENTS=500000 (default)  BENCH_EVENTS=10000000 for the full target
//   BENCH_MODE=nats|http  BENCH_CUSTOMERS=1000  BENCH_PUBLISH_WINDOW=64  BENCH_HTTP_REQUESTS=20000
//   BENCH_RATE=0 (events/s limit for latency runs)  BENCH_HTTP_CONCURRENCY=64  BENCH_CPU_PROF=1 (writes .cpuprofiles of the service and gateway)  BENCH_BUILD=0
//   BENCH_PROGRESS=0 (no progress on stderr; see bench/progress.mjs)
//   BENCH_BASELINE=0 skips the same-run baseline (nats: psql COPY into an indexed table; http: a bare Node server under the same wrk load)
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { benchProgress } from '../progress.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SVC = path.join(ROOT, 'services', 'meter-ingestion');
const require = createRequire(path.join(SVC, 'package.json'));
const pg = require('pg');
const { connect } = await import(require.resolve('@nats-io/transport-node'));
const { jetstream, jetstreamManager } = await import(require.resolve('@nats-io/jetstream'));

const env = process.env;
const MODE = env.BENCH_MODE ?? 'nats';
const EVENTS = Number(env.BENCH_EVENTS ?? 500_000);
const CUSTOMERS = Number(env.BENCH_CUSTOMERS ?? 1000);
const WINDOW = Number(env.BENCH_PUBLISH_WINDOW ?? 64);
/** Producer rate limit (events/s); 0 = as fast as NATS acks. Latency is only meaningful below the service's throughput. */
const RATE = Number(env.BENCH_RATE ?? 0);
const DUP_RATE = 0.01;
const ADMIN_URL = env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NATS_URL = env.NATS_URL ?? 'nats://127.0.0.1:4222';

const rand = () => randomBytes(4).toString('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const freePort = () =>
  new Promise((res) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });

// ---- setup: build, fresh database + namespace, migrate, start the service -----------------
const GW = path.join(ROOT, 'services', 'gateway');
// v1 requests go through the real gateway (started here) unless BENCH_GATEWAY=0 or GATEWAY_URL is given.
const startGateway = MODE === 'http' && !env.GATEWAY_URL && env.BENCH_GATEWAY !== '0';
if (env.BENCH_BUILD !== '0') {
  const filters = [
    '--filter',
    '@meterflow/meter-ingestion...',
    '--filter',
    '@meterflow/cli...',
    ...(startGateway ? ['--filter', '@meterflow/gateway...'] : []),
  ];
  const r = spawnSync('pnpm', ['-s', ...filters, 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('build failed');
}
const dbName = `mf_bench_${rand()}`;
const namespace = `bench${rand()}`;
const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
await admin.end();
const dbUrlObj = new URL(ADMIN_URL);
dbUrlObj.pathname = `/${dbName}`;
const DATABASE_URL = dbUrlObj.toString();
const port = await freePort();
const svcEnv = {
  ...env,
  DATABASE_URL,
  NATS_URL,
  MF_NAMESPACE: namespace,
  HTTP_PORT: String(port),
  LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
  INGEST_CUSTOMER_LOOKUP: 'off',
  OTEL_SDK_DISABLED: 'true',
};
const mig = spawnSync(process.execPath, [path.join(SVC, 'dist', 'migrate.js')], { cwd: SVC, env: svcEnv, stdio: 'inherit' });
if (mig.status !== 0) throw new Error('migrations failed');
const profDir = path.join(ROOT, 'bench', 'ingest', 'profiles');
const nodeArgs = ['--enable-source-maps'];
if (env.BENCH_CPU_PROF === '1') {
  mkdirSync(profDir, { recursive: true });
  nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profDir}`);
}
const child = spawn(process.execPath, [...nodeArgs, path.join(SVC, 'dist', 'main.js')], {
  cwd: SVC,
  env: svcEnv,
  stdio: ['ignore', 'inherit', 'inherit'],
});
const base = `http://127.0.0.1:${port}`;
// Whatever happens to this script, its services do not outlive it.
process.on('exit', () => {
  child.kill('SIGKILL');
  gatewayChild?.kill('SIGKILL');
});
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/readyz`)).ok) break;
  } catch {}
  if (i > 300 || child.exitCode !== null) throw new Error('service did not become ready');
  await sleep(100);
}
let gatewayChild;
let gatewayUrl = env.GATEWAY_URL;
if (startGateway) {
  const gwPort = await freePort();
  const gwEnv = { ...svcEnv, HTTP_PORT: String(gwPort), MF_API_KEYS: env.BENCH_API_KEY ?? 'sk_test_meterflow' };
  const gm = spawnSync(process.execPath, [path.join(GW, 'dist', 'migrate.js')], { cwd: GW, env: gwEnv, stdio: 'inherit' });
  if (gm.status !== 0) throw new Error('gateway migrations failed');
  gatewayChild = spawn(process.execPath, [...nodeArgs, path.join(GW, 'dist', 'main.js')], {
    cwd: GW,
    env: gwEnv,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  gatewayUrl = `http://127.0.0.1:${gwPort}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${gatewayUrl}/readyz`)).ok) break;
    } catch {}
    if (i > 300 || gatewayChild.exitCode !== null) throw new Error('gateway did not become ready');
    await sleep(100);
  }
}
const rss = () => {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
};

const nc = await connect({ servers: NATS_URL, name: 'bench-ingest' });
const p = `${namespace}.`;
const rpc = async (op, payload, timeout = 30_000) => {
  const m = await nc.request(`${p}mf.rpc.meter_ingestion.${op}`, JSON.stringify(payload), { timeout });
  const r = m.json();
  if (!r.ok) throw new Error(`${op}: ${JSON.stringify(r.error)}`);
  return r.result;
};
const api = (op, params = {}, path = {}) => rpc(op, { params, path, requestId: `req_bench_${rand()}`, livemode: false });
const meter = await api('meters.create', { display_name: 'bench', event_name: 'bench_calls', default_aggregation: { formula: 'sum' } });
await sleep(1500); // the catalog refresh of the service (1 s) has seen the meter
const db = new pg.Pool({ connectionString: DATABASE_URL, max: 2, options: '-c search_path=ingestion' });

const rssSamples = [];
const rssTimer = setInterval(() => rssSamples.push(rss()), 1000);
const result = {
  database: env.BENCH_KEEP_DB === '1' ? dbName : undefined,
  mode: MODE,
  rate_limit: MODE === 'nats' ? RATE || 'none' : undefined,
  machine: '2 cores (shared), 24 GB RAM, Postgres 15 + nats-server 2.9 on the same box',
  node: process.version,
};

async function flushStats() {
  try {
    const text = await (await fetch(`${base}/metrics`)).text();
    const v = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    const n = v('meterflow_ingest_flush_seconds_count');
    return {
      transactions: n,
      avg_ms: +((v('meterflow_ingest_flush_seconds_sum') / n) * 1000).toFixed(1),
      avg_events: Math.round(v('meterflow_ingest_flush_events_sum') / n),
    };
  } catch {
    return undefined;
  }
}

async function cleanup() {
  clearInterval(rssTimer);
  if (gatewayChild) {
    gatewayChild.kill('SIGTERM');
    await new Promise((r) => (gatewayChild.exitCode !== null ? r() : gatewayChild.once('exit', r)));
  }
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
  await db.end();
  try {
    const jsm = await jetstreamManager(nc);
    for await (const si of jsm.streams.list())
      if (si.config.name.startsWith(`${namespace.toUpperCase()}_`)) await jsm.streams.delete(si.config.name);
  } catch {}
  await nc.close();
  if (env.BENCH_KEEP_DB !== '1') {
    const a = new pg.Client({ connectionString: ADMIN_URL });
    await a.connect();
    await a.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await a.end();
  }
}

// ---- same-run baselines: every result is also given as a ratio to what this box does bare ----
/** Plain Postgres COPY of `n` event-shaped rows into a table with a text primary key and a (meter, customer, ts) index. */
async function copyBaseline(n) {
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  await c.query(`CREATE TABLE bench_copy_baseline (identifier text PRIMARY KEY, meter_id text NOT NULL, customer text NOT NULL,
    value bigint NOT NULL, ts bigint NOT NULL, payload text NOT NULL)`);
  await c.query('CREATE INDEX ON bench_copy_baseline (meter_id, customer, ts)');
  await c.end();
  const ts = Math.floor(Date.now() / 1000);
  const t = performance.now();
  const psql = spawn('psql', [DATABASE_URL, '-qc', 'COPY bench_copy_baseline FROM STDIN'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const closed = new Promise((r) => psql.once('exit', r));
  for (let i = 0; i < n;) {
    const lines = [];
    for (const end = Math.min(n, i + 10_000); i < end; i++)
      lines.push(
        `b-${i}\tmtr_bench\tcus_${i % CUSTOMERS}\t${1 + (i % 10)}\t${ts}\t{"stripe_customer_id":"cus_${i % CUSTOMERS}","value":"${1 + (i % 10)}"}\n`,
      );
    if (!psql.stdin.write(lines.join(''))) await new Promise((r) => psql.stdin.once('drain', r));
  }
  psql.stdin.end();
  if ((await closed) !== 0) throw new Error('baseline COPY failed');
  const secs = (performance.now() - t) / 1000;
  const a = new pg.Client({ connectionString: DATABASE_URL });
  await a.connect();
  await a.query('DROP TABLE bench_copy_baseline');
  await a.end();
  return {
    what: 'psql COPY FROM STDIN into an indexed table (text PK + one btree), one transaction',
    rows: n,
    seconds: +secs.toFixed(2),
    rows_per_s: Math.round(n / secs),
  };
}

/** A bare Node HTTP server (one JSON answer per POST) under the same wrk script, connections and duration. */
async function bareNodeBaseline(runWrk) {
  const srvPort = await freePort();
  const code = `require('node:http').createServer((q, s) => { let b = ''; q.on('data', (d) => (b += d)); q.on('end', () => { s.writeHead(200, { 'content-type': 'application/json' }); s.end(JSON.stringify({ object: 'billing.meter_event', length: b.length })); }); }).listen(${srvPort}, '127.0.0.1', () => console.log('up'));`;
  const srv = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => srv.stdout.once('data', r));
  try {
    return runWrk(`http://127.0.0.1:${srvPort}`);
  } finally {
    srv.kill('SIGKILL');
  }
}
const BASELINE = env.BENCH_BASELINE !== '0';

if (MODE === 'nats') {
  if (BASELINE) result.baseline = await copyBaseline(Math.min(EVENTS, 1_000_000));
  const js = jetstream(nc);
  const subject = `${p}mf.ingest.meter_events`;
  const now = () => Math.floor(Date.now() / 1000);
  let expectedSum = 0n;
  let unique = 0;
  let sent = 0;
  let dups = 0;
  const sentIds = [];
  const probes = []; // {customer, t0}
  const latencies = [];
  let probeN = 0;
  let lastProbeAt = 0;
  const batches = Math.ceil(EVENTS / 100);
  const published = await benchProgress('published', { total: EVENTS, unit: 'events' });
  const t0 = Date.now();
  const inflight = new Set();
  // publish-to-queryable: each probe's customer is polled with usage.query until it shows up
  const probeDone = new Set();
  const pollProbes = async () => {
    const start = now() - 3600;
    const end = now() + 3600;
    const pending = probes.filter((x) => !probeDone.has(x.customer));
    if (!pending.length) return;
    const r = await rpc('usage.query', {
      queries: pending.map((x) => ({ key: x.customer, meter: meter.id, customer: x.customer, start, end })),
    });
    const seen = Date.now();
    for (const x of pending)
      if (r.results[x.customer]?.value === '1') {
        probeDone.add(x.customer);
        latencies.push(seen - x.t0);
      }
  };
  const timeline = [];
  let stopMonitor = false;
  let storedNow = 0;
  const monitor = (async () => {
    let k = 0;
    while (!stopMonitor) {
      await pollProbes().catch(() => undefined);
      if (k++ % 4 === 0) {
        const { rows } = await db.query('SELECT coalesce(sum(count),0)::text AS c FROM usage_rollups WHERE meter_id = $1', [meter.id]);
        storedNow = Number(rows[0].c);
        timeline.push({ t: (Date.now() - t0) / 1000, stored: storedNow, rss: rss() });
      }
      await sleep(50);
    }
  })();
  for (let b = 0; b < batches; b++) {
    const events = [];
    const n = Math.min(100, EVENTS - sent);
    const ts = new Date().toISOString();
    let probe;
    if (Date.now() - lastProbeAt > 250) {
      lastProbeAt = Date.now();
      probe = { customer: `cus_probe_${probeN++}` };
    }
    for (let i = 0; i < n; i++) {
      if (probe && i === 0) {
        const id = `p-${probe.customer}`;
        events.push({
          event_name: 'bench_calls',
          payload: { stripe_customer_id: probe.customer, value: '1' },
          identifier: id,
          timestamp: ts,
        });
        expectedSum += 1n;
        unique++;
        continue;
      }
      if (sentIds.length > 1000 && Math.random() < DUP_RATE) {
        // a producer retry: same identifier, same payload
        const d = sentIds[Math.floor(Math.random() * sentIds.length)];
        events.push(d);
        dups++;
        continue;
      }
      const value = 1 + ((b * 7 + i) % 10);
      const e = {
        event_name: 'bench_calls',
        payload: { stripe_customer_id: `cus_${(b * 100 + i) % CUSTOMERS}`, value: String(value) },
        identifier: `e-${b}-${i}`,
        timestamp: ts,
      };
      events.push(e);
      if (sentIds.length < 100_000) sentIds.push(e);
      else sentIds[Math.floor(Math.random() * sentIds.length)] = e;
      expectedSum += BigInt(value);
      unique++;
    }
    sent += n;
    if (probe) {
      probe.t0 = Date.now();
      probes.push(probe);
    }
    const pub = js.publish(subject, JSON.stringify({ events })).then(() => {
      inflight.delete(pub);
    });
    inflight.add(pub);
    if (inflight.size >= WINDOW) await Promise.race(inflight);
    if (RATE > 0) {
      const due = t0 + (sent / RATE) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
    }
    if (b % 100 === 0) published.update(sent);
  }
  await Promise.all(inflight);
  const tPublished = Date.now();
  published.update(sent);
  published.succeed(`published ${sent.toLocaleString('en-US')} events in ${((tPublished - t0) / 1000).toFixed(1)} s`);
  const queryable = await benchProgress('queryable', { total: unique, unit: 'events' });

  let tDone;
  for (;;) {
    queryable.update(storedNow);
    if (storedNow >= unique) {
      tDone = Date.now();
      queryable.succeed(`${unique.toLocaleString('en-US')} events queryable in ${((tDone - t0) / 1000).toFixed(1)} s`);
      break;
    }
    if (Date.now() - tPublished > 900_000) {
      queryable.fail();
      throw new Error(`timed out: ${storedNow} of ${unique} stored`);
    }
    await sleep(50);
  }
  for (let i = 0; i < 100 && probeDone.size < probes.length; i++) await sleep(20);
  stopMonitor = true;
  await monitor;
  await sleep(2000); // anything counted twice would show up now
  const totals = await db.query(
    `SELECT (SELECT coalesce(sum(sum),0)::text FROM usage_rollups WHERE meter_id = $1) AS sum,
            (SELECT coalesce(sum(count),0)::text FROM usage_rollups WHERE meter_id = $1) AS count,
            (SELECT count(*)::text FROM meter_events) AS raw,
            (SELECT count(*)::text FROM dead_letters) AS dead`,
    [meter.id],
  );
  const tot = totals.rows[0];
  const api0 = await rpc('usage.query', {
    queries: [{ key: 'all', meter: meter.id, customer: 'cus_1', start: now() - 86400, end: now() + 3600 }],
  });
  const secs = (tDone - t0) / 1000;
  Object.assign(result, {
    events_published: sent,
    duplicates_published: dups,
    unique_events: unique,
    publish_seconds: (tPublished - t0) / 1000,
    publish_rate: Math.round(sent / ((tPublished - t0) / 1000)),
    queryable_seconds: secs,
    sustained_events_per_s: Math.round(sent / secs),
    latency_ms: { samples: latencies.length, p50: pct(latencies, 50), p99: pct(latencies, 99), max: Math.max(...latencies) },
    totals: {
      expected_sum: expectedSum.toString(),
      stored_sum: tot.sum,
      expected_count: unique,
      stored_count: Number(tot.count),
      raw_rows: Number(tot.raw),
      dead_letters: Number(tot.dead),
    },
    totals_exact: tot.sum === expectedSum.toString() && Number(tot.count) === unique && Number(tot.raw) === unique,
    sample_usage_query_cus_1: api0.results.all.value,
    service_rss_mb: {
      min: Math.round(Math.min(...rssSamples.filter(Number.isFinite))),
      max: Math.round(Math.max(...rssSamples.filter(Number.isFinite))),
      last: Math.round(rss()),
    },
    // stored events over time, to see how throughput changes as the store grows
    rate_by_segment: segmentRates(timeline),
  });
  if (result.baseline) result.ratio_to_baseline = +(result.sustained_events_per_s / result.baseline.rows_per_s).toFixed(3);
} else if (gatewayUrl && env.BENCH_HTTP_CLIENT === 'wrk') {
  // wrk (C, one thread) as the load generator: the Node fetch client otherwise takes ~40% of a
  // core on this 2-core box, which a real producer on another machine would not.
  const C = Number(env.BENCH_HTTP_CONCURRENCY ?? 64);
  const secs = Number(env.BENCH_HTTP_SECONDS ?? 20);
  const key = env.BENCH_API_KEY ?? 'sk_test_meterflow';
  const idem = env.BENCH_IDEMPOTENCY !== '0';
  mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
  const lua = path.join(ROOT, '.tmp', `bench-wrk-${rand()}.lua`);
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    lua,
    `local n = 0
local run = "${rand()}"
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer ${key}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
request = function()
  n = n + 1
  local id = run .. "-" .. n
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  ${idem ? 'headers["Idempotency-Key"] = "stripe-node-retry-" .. id' : ''}
  local body = "event_name=bench_calls&payload%5Bstripe_customer_id%5D=cus_" .. (n % ${CUSTOMERS}) .. "&payload%5Bvalue%5D=1&identifier=" .. id
  return wrk.format(nil, "/v1/billing/meter_events", headers, body)
end
done = function(summary, latency, requests)
  io.write(string.format('MFJSON {"requests":%d,"non2xx":%d,"errors":%d,"p50":%.2f,"p99":%.2f,"max":%.2f,"seconds":%.3f}\\n',
    summary.requests, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000, summary.duration / 1e6))
end
`,
  );
  const runWrk = (url, seconds = secs) => {
    const w = spawnSync('wrk', ['-t1', `-c${C}`, `-d${seconds}s`, '-s', lua, url], { encoding: 'utf8' });
    if (w.status !== 0) throw new Error(`wrk failed (apt-get install wrk): ${w.stderr}`);
    const found = /MFJSON (\{.*\})/.exec(w.stdout);
    if (!found) throw new Error(`could not read wrk's summary:\n${w.stdout}\n${w.stderr}`);
    return JSON.parse(found[1]);
  };
  if (BASELINE) {
    const b = await bareNodeBaseline((url) => runWrk(url, Math.min(secs, 10)));
    result.baseline = {
      what: 'bare Node HTTP server (node:http, JSON answer), same wrk script and connections',
      req_per_s: Math.round(b.requests / b.seconds),
      latency_ms: { p50: b.p50, p99: b.p99 },
    };
  }
  const m = runWrk(gatewayUrl);
  await sleep(1000); // the last batch is written
  const { rows } = await db.query('SELECT coalesce(sum(count),0)::text AS c FROM usage_rollups');
  const ok = m.requests - m.non2xx - m.errors;
  Object.assign(result, {
    path: `HTTP POST ${gatewayUrl}/v1/billing/meter_events (wrk, 1 thread)`,
    requests: m.requests,
    concurrency: C,
    idempotency_keys: idem,
    failures: m.non2xx + m.errors,
    req_per_s: Math.round(m.requests / m.seconds),
    latency_ms: { p50: m.p50, p99: m.p99, max: m.max },
    stored: Number(rows[0].c),
    // wrk does not count the requests still in flight at the deadline (at most one per
    // connection): every answered 2xx is stored once, and at most C more.
    totals_exact: Number(rows[0].c) >= ok && Number(rows[0].c) <= ok + C,
    service_rss_mb: { max: Math.round(Math.max(...rssSamples.filter(Number.isFinite))) },
  });
  if (result.baseline) result.ratio_to_baseline = +(result.req_per_s / result.baseline.req_per_s).toFixed(3);
} else {
  const N = Number(env.BENCH_HTTP_REQUESTS ?? 20_000);
  const C = Number(env.BENCH_HTTP_CONCURRENCY ?? 64);
  const gw = gatewayUrl;
  const key = env.BENCH_API_KEY ?? 'sk_test_meterflow';
  // stripe-node sends an Idempotency-Key on every v1 POST; so do we unless BENCH_IDEMPOTENCY=0.
  const idem = env.BENCH_IDEMPOTENCY !== '0';
  const lat = [];
  let i = 0;
  let failures = 0;
  const requests = await benchProgress('requests', { total: N, unit: 'requests' });
  const one = async () => {
    const n = i++;
    if (n % 100 === 0) requests.update(n);
    const params = { event_name: 'bench_calls', payload: { stripe_customer_id: `cus_${n % CUSTOMERS}`, value: '1' }, identifier: `h-${n}` };
    const t = performance.now();
    try {
      if (gw) {
        const body = new URLSearchParams({
          event_name: params.event_name,
          'payload[stripe_customer_id]': params.payload.stripe_customer_id,
          'payload[value]': '1',
          identifier: params.identifier,
        });
        const r = await fetch(`${gw}/v1/billing/meter_events`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${key}`,
            'content-type': 'application/x-www-form-urlencoded',
            ...(idem ? { 'idempotency-key': `stripe-node-retry-${params.identifier}` } : {}),
          },
          body,
        });
        if (!r.ok) failures++;
        await r.arrayBuffer();
      } else await api('meter_events.create', params);
    } catch {
      failures++;
    }
    lat.push(performance.now() - t);
  };
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (i < N) await one();
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  requests.succeed(`${N.toLocaleString('en-US')} requests in ${secs.toFixed(1)} s`);
  const { rows } = await db.query('SELECT coalesce(sum(count),0)::text AS c FROM usage_rollups');
  Object.assign(result, {
    path: gw
      ? `HTTP POST ${gw}/v1/billing/meter_events`
      : 'NATS request/reply meter_events.create (the op the gateway calls; no gateway given)',
    requests: N,
    concurrency: C,
    idempotency_keys: Boolean(gw) && idem,
    failures,
    req_per_s: Math.round(N / secs),
    latency_ms: { p50: +pct(lat, 50).toFixed(2), p99: +pct(lat, 99).toFixed(2), max: +Math.max(...lat).toFixed(2) },
    stored: Number(rows[0].c),
    totals_exact: Number(rows[0].c) === N - failures,
    service_rss_mb: { max: Math.round(Math.max(...rssSamples.filter(Number.isFinite))) },
  });
}

function segmentRates(timeline) {
  const out = [];
  const step = Math.max(100_000, Math.round(EVENTS / 10 / 100_000) * 100_000);
  let prev = { t: 0, stored: 0 };
  let next = step;
  for (const pt of timeline) {
    if (pt.stored >= next || pt === timeline[timeline.length - 1]) {
      const rate = (pt.stored - prev.stored) / Math.max(0.001, pt.t - prev.t);
      out.push({ stored_up_to: pt.stored, events_per_s: Math.round(rate), service_rss_mb: Math.round(pt.rss ?? NaN) });
      prev = pt;
      while (next <= pt.stored) next += step;
    }
  }
  return out;
}

result.flushes = await flushStats();
await cleanup();
console.log(JSON.stringify(result, null, 2));
if (result.totals_exact === false) process.exitCode = 1;
