#!/usr/bin/env node
// `pnpm chaos`: Meterflow under faults, on its own nats-server and Postgres cluster (free
// loopback ports, data in a temporary directory; scripts/chaos-infra.mjs), every service as its
// own NATS user. Faults, each with exact totals checked after it:
//   - kill -9 of each service under ingest load (then started again, as an orchestrator would);
//   - nats-server kill -9 and start; Postgres `pg_ctl stop -m immediate` and start;
//   - kill -9 of invoicing, then of credit-ledger, during a test-clock close of CHAOS_SUBS
//     subscriptions: invoices and ledgers must be identical to a fault-free close of the same inputs.
// Prints a table (fault, acked, stored, lost, doubled, recovery seconds); exits 1 if any fault
// was not survived. No person is involved anywhere: the script never repairs anything.
//
//   CHAOS_SUBS=1000  CHAOS_RATE=1500 (events/s)  CHAOS_LOAD_SECONDS=12  CHAOS_BUILD=0  CHAOS_VERBOSE=1
//   CHAOS_ONLY=ingest|clock
import pg from 'pg';
import os from 'node:os';
import { startStack } from './stack.mjs';
import { startOwnNats, startOwnPostgres, tempDir } from './chaos-infra.mjs';
import { Load, checkIngest, ingestPhase } from './chaos-load.mjs';
import { clockPhase, setupClocks } from './chaos-clock.mjs';

const env = process.env;
const SUBS = Number(env.CHAOS_SUBS ?? 1000);
const RATE = Number(env.CHAOS_RATE ?? 1500);
const LOAD_SECONDS = Number(env.CHAOS_LOAD_SECONDS ?? 12);
const KEY = 'sk_test_chaos';
const log = (m) => console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${m}`);
const started = Date.now();

const tmp = tempDir();
let postgres;
let nats;
let stack;
const rows = [];
let exitCode = 1;
const cleanup = async () => {
  await stack?.stop().catch(() => {});
  await nats?.stop().catch(() => {});
  postgres?.stop();
  tmp.remove();
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

try {
  postgres = await startOwnPostgres(tmp.dir);
  nats = await startOwnNats(tmp.dir);
  log(`own Postgres on ${postgres.port}, own nats-server on ${nats.port} (data in ${tmp.dir})`);
  stack = await startStack({
    databaseUrl: postgres.url,
    natsUrl: nats.url,
    portOffset: 'free',
    build: env.CHAOS_BUILD !== '0',
    quiet: env.CHAOS_VERBOSE !== '1',
    env: { MF_API_KEYS: KEY, LOG_LEVEL: 'warn', OTEL_SDK_DISABLED: 'true', INVOICE_FINALIZATION_GRACE_SECONDS: '3600' },
    envFor: (svc) => ({ NATS_USER: svc, NATS_PASSWORD: nats.password(svc) }),
  });
  log(`stack up (${stack.children.map((c) => `${c.name}:${c.port}`).join(' ')})`);
  const db = new pg.Pool({ connectionString: postgres.url, max: 3 });
  db.on('error', () => {});
  const ctx = { stack, db, nats, postgres, key: KEY, log };

  if (env.CHAOS_ONLY !== 'clock') {
    const load = await Load.create(ctx);
    const faults = [
      ...stack.children.map((c) => ({
        name: `kill -9 ${c.name}`,
        inject: async () => {
          const c2 = stack.children.find((x) => x.name === c.name);
          const exited = new Promise((r) => c2.child.once('exit', r));
          c2.child.kill('SIGKILL');
          await exited;
          await new Promise((r) => setTimeout(r, 1000));
          await stack.restart(c.name);
        },
      })),
      {
        name: 'nats-server kill -9, start after 2 s',
        inject: async () => {
          await nats.kill();
          await new Promise((r) => setTimeout(r, 2000));
          await nats.start();
        },
      },
      {
        name: 'Postgres stop -m immediate, start after 2 s',
        inject: async () => {
          postgres.stopImmediate();
          await new Promise((r) => setTimeout(r, 2000));
          await postgres.start();
        },
      },
    ];
    for (const f of faults) {
      log(`${f.name}: ${RATE} events/s for ${LOAD_SECONDS} s, fault after ${Math.round(LOAD_SECONDS / 3)} s`);
      const r = await ingestPhase(ctx, load, { rate: RATE, seconds: LOAD_SECONDS, inject: f.inject });
      const check = await checkIngest(ctx, r);
      rows.push({ fault: f.name, ...check });
      log(`${f.name}: ${JSON.stringify(check)}`);
    }
    await load.close();
  }

  if (env.CHAOS_ONLY !== 'ingest') {
    const clocks = await setupClocks(ctx, SUBS, 3);
    const base = await clockPhase(ctx, clocks[0], null);
    rows.push({ fault: `clock close, ${SUBS} subscriptions, no fault`, ...base.row });
    for (const [i, victim] of [
      [1, 'invoicing'],
      [2, 'credit-ledger'],
    ]) {
      const r = await clockPhase(ctx, clocks[i], victim, base.fingerprint);
      rows.push({ fault: `kill -9 ${victim} during the close`, ...r.row });
    }
  }
  await db.end();

  const ok = rows.every((r) => r.ok);
  const head = ['fault', 'acked', 'stored', 'lost', 'doubled', 'recovery s', 'result'];
  const table = [
    head,
    ...rows.map((r) => [r.fault, r.acked, r.stored, r.lost, r.doubled, r.recovery, r.ok ? 'survived' : `FAILED ${r.why ?? ''}`]),
  ];
  const widths = head.map((_, i) => Math.max(...table.map((t) => String(t[i]).length)));
  const line = (t) =>
    `| ${t.map((x, i) => (i === 0 || i === 6 ? String(x).padEnd(widths[i]) : String(x).padStart(widths[i]))).join(' | ')} |`;
  console.log(
    `\nMeterflow chaos suite, ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GB, node ${process.version}`,
  );
  console.log(
    `clock rows: acked = subscriptions, stored = invoices, lost/doubled = invoices or credit applications missing/extra, compared with the fault-free close\n`,
  );
  console.log(line(head));
  console.log(`|${widths.map((w, i) => (i === 0 || i === 6 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const t of table.slice(1)) console.log(line(t));
  console.log(`\n${ok ? 'every fault survived' : 'NOT every fault survived'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  exitCode = ok ? 0 : 1;
} catch (e) {
  console.error('[chaos] aborted:', e);
} finally {
  await cleanup();
}
process.exit(exitCode);
