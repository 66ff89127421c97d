// `pnpm bench:close`: the end-of-period path measured end to end, as DESIGN.md's target states it
// ("period close: rate + invoice + apply credits + finalize, 100,000 subscriptions in <= 60 s").
//
// The whole system runs as processes (scripts/stack.mjs) on a fresh database and NATS namespace.
// Setup (not timed): one metered price (10 USD per hour, divide_by 60, round up), BENCH_SUBS
// customers on one test clock, each with a monthly subscription and 150 minutes of usage
// (published over NATS in batches of 100), every second one with a 10 USD credit grant (paid,
// metered scope). Timed: one test clock advance past the period end and the finalization grace,
// from the API call until the clock reports `ready`; the phases (rating closes the periods and
// hands the drafts over, invoicing finalizes them and the ledger applies credits) are sampled
// from the read models while it runs. Checked: one open invoice per subscription, 3,000 cents
// each, 1,000 of credit applied to every second one, total and amount_due exact to the cent.
//
//   BENCH_SUBS=10000 (default)  BENCH_SUBS=100000 for the full target
//   BENCH_SETUP_CONCURRENCY=48  BENCH_BUILD=0  BENCH_KEEP_DB=1 (and the NATS streams)  BENCH_CPU_PROF=1 (bench/period-close/profiles/<service>/*.cpuprofile)
//   BENCH_PROGRESS=0 (no progress on stderr; see bench/progress.mjs)
//   BENCH_REPLICAS=invoicing:2,credit-ledger:2  several processes of a service (docs/architecture.md, "Scaling out");
//     then also checked in the event stores: no invoice finalized twice, no grant drawn beyond its amount
//   BENCH_BASELINE_ROWS=200000 (the same-run baseline, below)
//   BENCH_ANALYZE=1  ANALYZE after the setup (what autovacuum would do; this box runs without it)
//   BENCH_PG_STATS=1  the top statements of the timed run from pg_stat_statements (when the server loads it; diffed, not reset)
//
// Baseline, same run, same database, just before the timed advance: a plain `COPY` (psql) of
// BENCH_BASELINE_ROWS event-shaped rows (~0.6 kB jsonb each) into an indexed table (bigserial
// primary key, UNIQUE(stream_id, stream_position), UNIQUE uuid), i.e. what the event store's
// tables cost Postgres at best on this box right now. The close's rate is reported as a ratio to
// it, so runs on a busy or another box compare.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import Stripe from 'stripe';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { parseReplicas, startStack } from '../../scripts/stack.mjs';
import { benchProgress } from '../progress.mjs';

const env = process.env;
const PROFILES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'profiles');
const SUBS = Number(env.BENCH_SUBS ?? 10_000);
const CONCURRENCY = Number(env.BENCH_SETUP_CONCURRENCY ?? 48);
const ADMIN_URL = env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NATS_URL = env.NATS_URL ?? 'nats://127.0.0.1:4222';
const KEY = 'sk_test_bench';
const GRACE = 3600;
const T0 = Date.UTC(2026, 0, 1) / 1000;
const PERIOD_END = Date.UTC(2026, 1, 1) / 1000;
const TARGET = PERIOD_END + GRACE + 60;
const REPLICAS = parseReplicas(env.BENCH_REPLICAS);
// Several invoicing replicas share a clock's close in parts by customer: two parts per replica unless told.
const PARTITIONS = Number(env.INVOICE_CLOSE_PARTITIONS ?? 2 * (REPLICAS.invoicing ?? 1));

const rand = () => randomBytes(4).toString('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (m) => console.log(`[bench:close] ${m}`);
const rate = (n, ms) => `${Math.round((n * 1000) / ms).toLocaleString('en-US')}/s`;

/** CPU seconds (user + system) used so far by a process. */
const TICK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK;
  } catch {
    return 0;
  }
}
/** CPU seconds of each service and of the NATS server, and the whole machine's busy seconds. */
function cpuNow(children) {
  const out = Object.fromEntries(children.map((c) => [c.name, cpuSeconds(c.child.pid)]));
  const nats = execFileSync('ps', ['-C', 'nats-server', '-o', 'pid=']).toString().trim().split(/\s+/).filter(Boolean);
  out['nats-server'] = nats.reduce((a, p) => a + cpuSeconds(p), 0);
  // /proc/stat "cpu" line: user nice system idle iowait irq softirq steal ...
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  out.machine = (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / TICK;
  return out;
}

/**
 * CPU seconds of this database's Postgres backends, by pid (the box is shared: the machine's
 * busy time counts other work too). A backend that appears during the run counts from 0. Read
 * at every sample of the timed run (`seeBackends`): a pool closes idle connections, and a backend
 * that did its share and exited before the end counts up to its last sample.
 */
async function pgBackendCpu(db) {
  const { rows } = await db.query(
    `SELECT pid, coalesce(nullif(application_name, ''), 'other') AS app FROM pg_stat_activity WHERE datname = current_database()`,
  );
  return new Map(rows.map((r) => [r.pid, { app: r.app, cpu: cpuSeconds(r.pid) }]));
}

/** pg_stat_statements of this database (null when the server does not load it): queryid -> calls, ms, rows, text. */
async function pgStatements(db) {
  try {
    const { rows } = await db.query(
      `SELECT queryid::text AS id, calls::float8 AS calls, total_exec_time AS ms, rows::float8 AS rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS q
         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    return new Map(rows.map((r) => [r.id, r]));
  } catch {
    return null;
  }
}

/** The cluster's WAL counters (pg_stat_wal): records, full-page images, bytes. */
async function pgWal(db) {
  const { rows } = await db.query(
    'SELECT wal_records::float8 AS records, wal_fpi::float8 AS fpi, wal_bytes::float8 AS bytes FROM pg_stat_wal',
  );
  return rows[0];
}

/** The statements that took the most Postgres time between two pg_stat_statements snapshots. */
function topStatements(before, after, n = 12) {
  if (!before || !after) return null;
  const d = [...after].map(([id, a]) => {
    const b = before.get(id) ?? { calls: 0, ms: 0, rows: 0 };
    return { calls: a.calls - b.calls, ms: a.ms - b.ms, rows: a.rows - b.rows, q: a.q };
  });
  const total = d.reduce((x, r) => x + r.ms, 0);
  const lines = d
    .filter((r) => r.calls > 0)
    .sort((x, y) => y.ms - x.ms)
    .slice(0, n)
    .map(
      (r) =>
        `    ${(r.ms / 1000).toFixed(2).padStart(6)} s ${String(r.calls).padStart(6)} calls ${String(r.rows).padStart(7)} rows  ${r.q}`,
    );
  return `  statements (pg_stat_statements, execution time ${(total / 1000).toFixed(1)} s):\n${lines.join('\n')}`;
}

/** The same-run baseline: rows/s of a plain COPY into an event-store-shaped indexed table (see the header). */
async function copyBaseline(db, url, rows) {
  await db.query(`CREATE TABLE bench_baseline (
    global_position bigserial PRIMARY KEY, stream_id text NOT NULL, stream_position int NOT NULL,
    event_id uuid NOT NULL UNIQUE, type text NOT NULL, data jsonb NOT NULL,
    UNIQUE (stream_id, stream_position))`);
  const pad = 'x'.repeat(480);
  const started = Date.now();
  await new Promise((resolve, reject) => {
    const psql = spawn(
      'psql',
      [url, '-q', '-v', 'ON_ERROR_STOP=1', '-c', 'COPY bench_baseline (stream_id, stream_position, event_id, type, data) FROM STDIN'],
      {
        stdio: ['pipe', 'ignore', 'inherit'],
      },
    );
    psql.on('error', reject);
    psql.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`baseline COPY failed (${code})`))));
    let i = 0;
    const write = () => {
      let ok = true;
      while (i < rows && ok) {
        const chunk = [];
        for (let j = 0; j < 1000 && i < rows; j++, i++)
          chunk.push(
            `invoice-in_${i.toString(36)}\t${(i % 7) + 1}\t${randomUUID()}\tInvoiceFinalized\t{"n":${i},"amount_due":2000,"pad":"${pad}"}\n`,
          );
        ok = psql.stdin.write(chunk.join(''));
      }
      if (i < rows) psql.stdin.once('drain', write);
      else psql.stdin.end();
    };
    write();
  });
  const ms = Date.now() - started;
  await db.query('DROP TABLE bench_baseline');
  return { rows, ms, perSecond: (rows * 1000) / ms };
}

/** Run `fn(i)` for i in [0, n) with at most `limit` at once. */
async function pool(n, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

/**
 * What replicas must never do, read from the event stores: finalize an invoice twice (two
 * `InvoiceFinalized` in one stream, or one number on two invoices), answer an invoice's credits
 * twice (two `LedgerInvoiceCreditsApplied` for one invoice) or draw a grant beyond its amount.
 */
async function exactlyOnce(q) {
  const { rows } = await q.query(`
    SELECT (SELECT count(*) FROM (SELECT stream_id FROM invoicing.events WHERE type = 'InvoiceFinalized'
                                   GROUP BY stream_id HAVING count(*) > 1) x)::int AS finalized_twice,
           (SELECT count(*) FROM (SELECT data->>'number' FROM invoicing.events WHERE type = 'InvoiceFinalized'
                                   GROUP BY 1 HAVING count(*) > 1) x)::int AS number_twice,
           (SELECT count(*) FROM (SELECT data->>'invoice' FROM credit_ledger.events WHERE type = 'LedgerInvoiceCreditsApplied'
                                   GROUP BY 1 HAVING count(*) > 1) x)::int AS credited_twice,
           (SELECT count(*) FROM credit_ledger.credit_grants g
             WHERE g.ledger_balance < 0
                OR (SELECT coalesce(sum(t.amount), 0) FROM credit_ledger.credit_balance_transactions t
                     WHERE t.credit_grant = g.id AND t.reason = 'credits_applied') > g.amount)::int AS overdrawn`);
  const r = rows[0];
  const ok = r.finalized_twice + r.number_twice + r.credited_twice + r.overdrawn === 0;
  return {
    ok,
    text: `invoices finalized twice ${r.finalized_twice}, numbers used twice ${r.number_twice}, invoices credited twice ${r.credited_twice}, grants overdrawn ${r.overdrawn}  ${ok ? 'OK' : 'VIOLATED'}`,
  };
}

// ---- the system, on a fresh database and namespace -------------------------------------------
const dbName = `mf_bench_close_${rand()}`;
const namespace = `bench${rand()}`;
const admin = new pg.Client({ connectionString: ADMIN_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const dbUrl = new URL(ADMIN_URL);
dbUrl.pathname = `/${dbName}`;
const stack = await startStack({
  databaseUrl: dbUrl.toString(),
  natsUrl: NATS_URL,
  portOffset: 'free',
  build: env.BENCH_BUILD !== '0',
  quiet: true,
  replicas: REPLICAS,
  nodeArgs: env.BENCH_CPU_PROF === '1' ? (name) => ['--cpu-prof', `--cpu-prof-dir=${path.join(PROFILES, name)}`] : undefined,
  env: {
    MF_NAMESPACE: namespace,
    MF_API_KEYS: KEY,
    LOG_LEVEL: 'warn',
    INVOICE_FINALIZATION_GRACE_SECONDS: String(GRACE),
    OTEL_SDK_DISABLED: 'true',
    INVOICE_CLOSE_PARTITIONS: String(PARTITIONS),
  },
});
const db = new pg.Pool({ connectionString: dbUrl.toString(), max: 2 });
let failed = false;
try {
  const api = new URL(stack.apiUrl);
  const stripe = new Stripe(KEY, { host: api.hostname, port: Number(api.port), protocol: 'http', maxNetworkRetries: 3, timeout: 120_000 });

  // ---- setup (not timed) ---------------------------------------------------------------------
  let t = Date.now();
  const meter = await stripe.billing.meters.create({
    display_name: 'Minutes',
    event_name: `minutes_${rand()}`,
    default_aggregation: { formula: 'sum' },
  });
  const price = await stripe.prices.create({
    currency: 'usd',
    unit_amount: 1000,
    product_data: { name: 'Car rental' },
    recurring: { interval: 'month', usage_type: 'metered', meter: meter.id },
    transform_quantity: { divide_by: 60, round: 'up' },
  });
  const clock = await stripe.testHelpers.testClocks.create({ frozen_time: T0, name: 'bench' });
  const customers = new Array(SUBS);
  const created = await benchProgress('setup', { total: SUBS, unit: 'subscriptions' });
  let made = 0;
  await pool(SUBS, CONCURRENCY, async (i) => {
    const c = await stripe.customers.create({ test_clock: clock.id, name: `renter ${i}` });
    customers[i] = c.id;
    await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }] });
    if (i % 2 === 0)
      await stripe.billing.creditGrants.create({
        customer: c.id,
        category: 'paid',
        amount: { type: 'monetary', monetary: { currency: 'usd', value: 1000 } },
        applicability_config: { scope: { price_type: 'metered' } },
      });
    created.update(++made);
  });
  created.succeed();
  log(`setup: ${SUBS} customers + subscriptions, ${Math.ceil(SUBS / 2)} credit grants in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  t = Date.now();
  const nc = await connect({ servers: NATS_URL });
  const js = jetstream(nc);
  const subject = `${namespace}.mf.ingest.meter_events`;
  // Customers on a test clock: timestamps are checked against the clock's frozen time.
  const ts = new Date(T0 * 1000).toISOString();
  await pool(Math.ceil(SUBS / 100), 16, async (b) => {
    const events = customers.slice(b * 100, b * 100 + 100).map((c) => ({
      event_name: meter.event_name,
      payload: { stripe_customer_id: c, value: '150' },
      identifier: `u-${c}`,
      timestamp: ts,
    }));
    await js.publish(subject, JSON.stringify({ events }));
  });
  await nc.drain();
  // Usage is visible when the rollups hold every customer's 150 minutes.
  const visible = await benchProgress('usage visible', { total: SUBS, unit: 'customers' });
  for (;;) {
    const { rows } = await db
      .query(`SELECT coalesce(sum(sum), 0)::text AS v FROM ingestion.usage_rollups`)
      .catch(() => ({ rows: [{ v: '?' }] }));
    if (rows[0].v !== '?') visible.update(Number(rows[0].v) / 150);
    if (rows[0].v === String(SUBS * 150)) break;
    await sleep(250);
  }
  visible.succeed();
  log(`usage: ${SUBS} events published and visible in ${((Date.now() - t) / 1000).toFixed(1)} s`);

  // BENCH_ANALYZE=1: statistics for the planner, as autovacuum would have gathered them during the
  // setup on a server that runs it (this box's Postgres has autovacuum off: tables never analyzed).
  if (env.BENCH_ANALYZE === '1') {
    const t0 = Date.now();
    await db.query('ANALYZE');
    log(`ANALYZE of the whole database in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const baseline = await copyBaseline(db, dbUrl.toString(), Number(env.BENCH_BASELINE_ROWS ?? 200_000));
  log(`baseline: COPY of ${baseline.rows} rows into an indexed table at ${rate(baseline.rows, baseline.ms)}`);

  // ---- timed: one advance past the period end and the grace ----------------------------------
  const phases = { drafts: null, finalized: null };
  // Sampled once a second, cheaply, so the measurement costs Postgres little next to what it
  // measures. Both counts are O(invoices) on this box (a scan of the whole table; the partial
  // index of drafts keeps the entries of finalized ones, which no vacuum removes), so each is
  // made every third sample: the invoices created until all are there, then the drafts left
  // (counted every second, the 100,000 close's 196 samples took 12.6 s of a backend's CPU for
  // the first, the drafts 2.1-2.7 s at 30,000 for the second). The phases are known to 3 s.
  let invoicesSeen = 0;
  let draftsLeft = SUBS;
  let samples = 0;
  const sample = async () => {
    const turn = samples++ % 3 === 0;
    const countAll = turn && invoicesSeen < SUBS;
    const countDrafts = turn && !countAll;
    if (countAll || countDrafts) {
      const { rows } = await db.query(
        countAll
          ? 'SELECT count(*)::int AS n FROM invoicing.invoices'
          : `SELECT count(*)::int AS n FROM invoicing.invoices WHERE status = 'draft' AND auto_advance`,
      );
      if (countAll) invoicesSeen = rows[0].n;
      else draftsLeft = rows[0].n;
    }
    return { n: invoicesSeen, done: invoicesSeen < SUBS ? 0 : SUBS - draftsLeft };
  };
  // The bar reads the once-a-second sample below: no extra queries during the timed run.
  const closing = await benchProgress('period close', { total: SUBS, unit: 'invoices finalized' });
  if (env.BENCH_PG_STATS === '1') await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements').catch(() => {});
  const stmtsBefore = env.BENCH_PG_STATS === '1' ? await pgStatements(db) : null;
  const pgBefore = await pgBackendCpu(db);
  const walBefore = await pgWal(db);
  const pgSeen = new Map(pgBefore);
  const seeBackends = async () => {
    for (const [pid, v] of await pgBackendCpu(db)) if (v.cpu >= (pgSeen.get(pid)?.cpu ?? 0)) pgSeen.set(pid, v);
  };
  const cpuBefore = cpuNow(stack.children);
  const start = Date.now();
  const monoStart = process.hrtime.bigint() / 1000n;
  await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: TARGET });
  for (;;) {
    const c = await stripe.testHelpers.testClocks.retrieve(clock.id);
    const s = await sample();
    await seeBackends();
    if (phases.drafts === null && s.n >= SUBS) phases.drafts = Date.now() - start;
    if (phases.finalized === null && s.done >= SUBS) phases.finalized = Date.now() - start;
    closing.update(s.done, { detail: `${s.n.toLocaleString('en-US')} periods closed (drafts), clock ${c.status}` });
    if (c.status === 'internal_failure') {
      closing.fail('clock advance failed');
      throw new Error('clock advance failed');
    }
    if (c.status === 'ready' && c.frozen_time === TARGET) break;
    await sleep(1000);
  }
  const elapsed = Date.now() - start;
  // The timed run on the monotonic clock V8's profiles use (µs), to cut BENCH_CPU_PROF's profiles to it.
  if (env.BENCH_CPU_PROF === '1') log(`timed run, monotonic µs: ${monoStart} ${process.hrtime.bigint() / 1000n}`);
  // The clock is ready once every participant is done: whatever the samples did not see by then
  // happened by then.
  phases.drafts ??= elapsed;
  phases.finalized ??= elapsed;
  closing.succeed(`period close: clock ready in ${(elapsed / 1000).toFixed(1)} s`);
  const cpuAfter = cpuNow(stack.children);
  await seeBackends();
  const pgAfter = pgSeen;
  const walAfter = await pgWal(db);
  const stmts = topStatements(stmtsBefore, env.BENCH_PG_STATS === '1' ? await pgStatements(db) : null);
  const used = Object.fromEntries(Object.entries(cpuAfter).map(([k, v]) => [k, v - cpuBefore[k]]));
  const { machine, ...procs } = used;
  const pgByApp = new Map();
  for (const [pid, v] of pgAfter) pgByApp.set(v.app, (pgByApp.get(v.app) ?? 0) + v.cpu - (pgBefore.get(pid)?.cpu ?? 0));
  const pgCpu = [...pgByApp.values()].reduce((a, b) => a + b, 0);
  const pgSplit = [...pgByApp]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
    .join(', ');
  // What the services and NATS did not use is (almost all) Postgres.
  procs['postgres and the rest'] = machine - Object.values(procs).reduce((a, b) => a + b, 0);
  const cpu = Object.entries(procs)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
    .join(', ');

  // ---- checks --------------------------------------------------------------------------------
  const { rows } = await db.query(`
    SELECT count(*)::int AS invoices,
           count(*) FILTER (WHERE status = 'open')::int AS open,
           coalesce(sum((object->>'subtotal')::bigint), 0)::text AS subtotal,
           coalesce(sum(total), 0)::text AS total,
           coalesce(sum(amount_due), 0)::text AS due
      FROM invoicing.invoices WHERE subscription IS NOT NULL`);
  const got = rows[0];
  const granted = Math.ceil(SUBS / 2);
  // Credits are pre-tax: total = subtotal - credits (docs/invoicing.md), and amount_due = total here.
  const expected = {
    invoices: SUBS,
    open: SUBS,
    subtotal: String(SUBS * 3000),
    total: String(SUBS * 3000 - granted * 1000),
    due: String(SUBS * 3000 - granted * 1000),
  };
  const ok = JSON.stringify(got) === JSON.stringify(expected);
  const { rows: applied } = await db.query(
    `SELECT count(*)::int AS n, coalesce(sum(amount), 0)::text AS amount FROM credit_ledger.credit_balance_transactions WHERE reason = 'credits_applied'`,
  );
  const once = await exactlyOnce(db);

  console.log(`
period close, end to end: ${SUBS.toLocaleString('en-US')} subscriptions on one test clock${
    Object.keys(REPLICAS).length
      ? `, replicas ${Object.entries(REPLICAS)
          .map(([k, v]) => `${k} x${v}`)
          .join(', ')}, close in ${PARTITIONS} parts`
      : ''
  }
  advance -> ready      ${(elapsed / 1000).toFixed(1)} s  (${rate(SUBS, elapsed)})
  drafts all created    ${phases.drafts === null ? '-' : `${(phases.drafts / 1000).toFixed(1)} s`}   (rating: usage query, rate, hand over; invoicing: create)
  all finalized         ${phases.finalized === null ? '-' : `${(phases.finalized / 1000).toFixed(1)} s`}   (invoicing: re-rate, credits.apply, finalize)
  invoices              ${got.invoices} (${got.open} open), subtotal ${got.subtotal}, total ${got.total}, amount_due ${got.due}   expected ${JSON.stringify(expected)}  ${ok ? 'OK' : 'MISMATCH'}
  credits applied       ${applied[0].n} transactions, ${applied[0].amount} cents (expected ${granted} / ${granted * 1000})
  exactly once          ${once.text}
  same-run baseline     COPY into an indexed table: ${rate(baseline.rows, baseline.ms)} rows; close rate / baseline rate = ${(((SUBS * 1000) / elapsed / baseline.perSecond) * 1e3).toFixed(2)} per 1,000 (the target, 1,667/s, is ${((1667 / baseline.perSecond) * 1e3).toFixed(2)} per 1,000 at this baseline)
  CPU during the run     ${cpu}  (machine busy ${machine.toFixed(1)} of ${((elapsed / 1000) * os.cpus().length).toFixed(1)} s)
  Postgres backends     ${pgCpu.toFixed(1)} s of CPU in this database's ${pgAfter.size} backends (sampled each second, those that exited meanwhile included), by client: ${pgSplit} (the rest of "postgres and the rest" is shared: WAL writer, other work on the box)
  WAL (cluster-wide)    ${((walAfter.bytes - walBefore.bytes) / 2 ** 20).toFixed(0)} MB in ${(walAfter.records - walBefore.records).toLocaleString('en-US')} records, ${(walAfter.fpi - walBefore.fpi).toLocaleString('en-US')} full-page images (pg_stat_wal over the timed run)
${stmts ? `${stmts}\n` : ''}  target (DESIGN.md)    100,000 in <= 60 s  => ${rate(100_000, 60_000)}
  machine               ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GB, load ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}, node ${process.version}
`);
  failed = !ok || applied[0].n !== granted || !once.ok;
} finally {
  await db.end();
  await stack.stop();
  if (env.BENCH_KEEP_DB !== '1') await admin.query(`DROP DATABASE ${dbName} WITH (FORCE)`).catch(() => {});
  await admin.end();
  // BENCH_KEEP_DB=1 keeps the namespace's streams too, to look at what the run stored.
  const nc = env.BENCH_KEEP_DB === '1' ? null : await connect({ servers: NATS_URL }).catch(() => null);
  if (nc) {
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const jsm = await jetstreamManager(nc);
    for await (const s of jsm.streams.list())
      if (s.config.name.startsWith(`${namespace.toUpperCase()}_`)) await jsm.streams.delete(s.config.name).catch(() => {});
    await nc.close();
  }
}
process.exit(failed ? 1 : 0);
