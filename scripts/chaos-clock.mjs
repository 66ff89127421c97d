// The chaos suite's test-clock closes: identical inputs on several clocks (one metered price,
// N customers each with a monthly subscription and 150 minutes of usage, a 10 USD credit grant
// for every second one), closed one after another: the first without a fault, the others with a
// participant killed mid-close. Their invoices and ledgers, customer by customer, must be
// identical to the fault-free close's, with no manual step.
import { randomBytes } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { natsInboxPrefix, natsNames } from '@meterflow/contracts';
import { stripeFor } from './chaos-load.mjs';

const T0 = Date.UTC(2026, 0, 1) / 1000;
const TARGET = Date.UTC(2026, 1, 1) / 1000 + 3600 + 60;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function pool(n, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

export async function setupClocks(ctx, subs, count) {
  const t = Date.now();
  const stripe = stripeFor(ctx);
  const tag = `chaos_close_${randomBytes(3).toString('hex')}`;
  const meter = await stripe.billing.meters.create({ display_name: 'Minutes', event_name: tag, default_aggregation: { formula: 'sum' } });
  const price = await stripe.prices.create({
    currency: 'usd',
    unit_amount: 1000,
    product_data: { name: 'Car rental' },
    recurring: { interval: 'month', usage_type: 'metered', meter: meter.id },
    transform_quantity: { divide_by: 60, round: 'up' },
  });
  const clocks = [];
  for (let k = 0; k < count; k++) {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: T0, name: `chaos ${k}` });
    const customers = new Array(subs);
    await pool(subs, 24, async (i) => {
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
    });
    clocks.push({ id: clock.id, customers, subs });
  }
  const nc = await connect({
    servers: ctx.nats.url,
    user: 'producer',
    pass: ctx.nats.password('producer'),
    inboxPrefix: natsInboxPrefix('producer'),
  });
  const js = jetstream(nc);
  const all = clocks.flatMap((c) => c.customers);
  const ts = new Date(T0 * 1000).toISOString();
  await pool(Math.ceil(all.length / 100), 8, async (b) => {
    const events = all.slice(b * 100, b * 100 + 100).map((c) => ({
      event_name: tag,
      payload: { stripe_customer_id: c, value: '150' },
      identifier: `u-${c}`,
      timestamp: ts,
    }));
    await js.publish(natsNames('').ingestSubject(), JSON.stringify({ events }), { msgID: `${tag}-${b}` });
  });
  await nc.close();
  for (;;) {
    const { rows } = await ctx.db.query(
      `SELECT coalesce(sum(sum), 0)::bigint::text AS v FROM ingestion.usage_rollups WHERE meter_id = $1`,
      [meter.id],
    );
    if (rows[0].v === String(all.length * 150)) break;
    await sleep(500);
  }
  ctx.log(
    `clock setup: ${count} clocks x ${subs} customers, subscriptions, ${Math.ceil(subs / 2)} grants, usage, in ${((Date.now() - t) / 1000).toFixed(0)} s`,
  );
  return clocks;
}

/** Per customer (by index, ids left out): its invoices with their lines, and its ledger. */
async function fingerprint(db, clock) {
  const index = new Map(clock.customers.map((c, i) => [c, i]));
  const inv = await db.query(
    `SELECT i.customer, json_build_object('status', i.status, 'total', i.total, 'due', i.amount_due,
              'paid', i.object->'amount_paid', 'subtotal', i.object->'subtotal', 'reason', i.object->'billing_reason',
              'start', i.object->'period_start', 'end', i.object->'period_end',
              'lines', (SELECT json_agg(json_build_array(l.object->'amount', l.object->'quantity') ORDER BY l.position)
                          FROM invoicing.invoice_lines l WHERE l.invoice = i.id))::text AS f
       FROM invoicing.invoices i WHERE i.test_clock = $1`,
    [clock.id],
  );
  const led = await db.query(
    `SELECT customer, json_build_array(type, reason, amount, effective_at)::text AS f
       FROM credit_ledger.credit_balance_transactions WHERE test_clock = $1`,
    [clock.id],
  );
  const per = clock.customers.map(() => []);
  for (const r of [...inv.rows.map((x) => ({ ...x, f: `invoice ${x.f}` })), ...led.rows.map((x) => ({ ...x, f: `ledger ${x.f}` }))])
    per[index.get(r.customer)]?.push(r.f);
  return { per: per.map((xs) => xs.sort()), invoices: inv.rows.length };
}

/** Multiset difference of two customers' entries: [missing from `got`, extra in `got`]. */
function diff(want, got) {
  const count = new Map();
  for (const w of want) count.set(w, (count.get(w) ?? 0) + 1);
  let extra = 0;
  for (const g of got) {
    const n = count.get(g) ?? 0;
    if (n > 0) count.set(g, n - 1);
    else extra++;
  }
  return [[...count.values()].reduce((a, b) => a + b, 0), extra];
}

/** Advance the clock past the period end and the finalization grace; kill `victim` mid-close. */
export async function clockPhase(ctx, clock, victim, base) {
  const stripe = stripeFor(ctx);
  const N = clock.subs;
  const start = Date.now();
  await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: TARGET });
  let killedAt = null;
  let status;
  for (;;) {
    const c = await stripe.testHelpers.testClocks.retrieve(clock.id);
    status = c.status;
    if (c.status === 'internal_failure' || (c.status === 'ready' && c.frozen_time === TARGET)) break;
    if (Date.now() - start > 420_000) break;
    if (victim && killedAt === null && (await midClose(ctx.db, clock, victim, N))) {
      const child = ctx.stack.children.find((x) => x.name === victim);
      const exited = new Promise((r) => child.child.once('exit', r));
      child.child.kill('SIGKILL');
      killedAt = Date.now();
      await exited;
      ctx.log(`killed ${victim} ${((killedAt - start) / 1000).toFixed(1)} s into the close`);
      await sleep(1000);
      await ctx.stack.restart(victim);
    }
    await sleep(250);
  }
  const elapsed = (Date.now() - start) / 1000;
  const fp = await fingerprint(ctx.db, clock);
  let lost = 0;
  let doubled = 0;
  let why;
  if (base) {
    fp.per.forEach((got, i) => {
      const [m, e] = diff(base.per[i], got);
      lost += m;
      doubled += e;
      if ((m || e) && !why) why = `customer ${i}: want ${JSON.stringify(base.per[i])} got ${JSON.stringify(got)}`;
    });
  } else {
    // The fault-free close against the arithmetic: one open cycle invoice per subscription, 150 minutes = 3 hours
    // at 10 USD, 10 USD of credit on every second one.
    const { rows } = await ctx.db.query(
      `SELECT coalesce(sum(amount_due), 0)::bigint::text AS due,
              count(*) FILTER (WHERE object->>'billing_reason' = 'subscription_cycle' AND status = 'open')::int AS billed
         FROM invoicing.invoices WHERE test_clock = $1`,
      [clock.id],
    );
    const want = { due: String(N * 3000 - Math.ceil(N / 2) * 1000), billed: N };
    if (rows[0].due !== want.due || rows[0].billed !== want.billed) why = `got ${JSON.stringify(rows[0])}, want ${JSON.stringify(want)}`;
  }
  const missed = victim && killedAt === null;
  const ok = status === 'ready' && !why && lost === 0 && doubled === 0 && !missed;
  ctx.log(`close ${victim ? `with ${victim} killed` : 'without fault'}: ${status} in ${elapsed.toFixed(1)} s${why ? `; ${why}` : ''}`);
  return {
    fingerprint: fp,
    row: {
      acked: N,
      stored: fp.invoices,
      lost,
      doubled,
      recovery: killedAt ? ((Date.now() - killedAt) / 1000).toFixed(1) : `(${elapsed.toFixed(1)} close)`,
      ok,
      why: missed ? 'the close ended before the fault' : status !== 'ready' ? `clock ${status}` : why,
    },
  };
}

/** Invoicing: while drafts are being made; the ledger: while credits are being applied. */
async function midClose(db, clock, victim, n) {
  if (victim === 'invoicing') {
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM invoicing.invoices WHERE test_clock = $1 AND object->>'billing_reason' = 'subscription_cycle'`,
      [clock.id],
    );
    return rows[0].n >= Math.ceil(n / 3);
  }
  const { rows } = await db.query(
    `SELECT count(*)::int AS n FROM credit_ledger.credit_balance_transactions WHERE test_clock = $1 AND reason = 'credits_applied'`,
    [clock.id],
  );
  return rows[0].n >= Math.ceil(n / 10);
}
