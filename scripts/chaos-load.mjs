// The chaos suite's ingest load: a producer (NATS user `producer`) publishing batches of meter
// events with unique identifiers to MF_INGEST at a steady rate, retrying a batch whose ack did
// not come (same Nats-Msg-Id and identifiers, as a careful producer does), and the exact
// check afterwards: every acked event stored once, and counted once in the usage rollups.
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { natsInboxPrefix, natsNames } from '@meterflow/contracts';

const BATCH = 50;
const MAX_IN_FLIGHT = 64;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function stripeFor(ctx) {
  const api = new URL(ctx.stack.apiUrl);
  return new Stripe(ctx.key, { host: api.hostname, port: Number(api.port), protocol: 'http', maxNetworkRetries: 10, timeout: 120_000 });
}

/** Every service answers /readyz with 200. */
export async function allReady(stack) {
  const r = await Promise.all(
    stack.children.map((c) =>
      fetch(`http://127.0.0.1:${c.port}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
        (x) => x.ok,
        () => false,
      ),
    ),
  );
  return r.every(Boolean);
}

export class Load {
  static async create(ctx) {
    const stripe = stripeFor(ctx);
    const customer = await stripe.customers.create({ name: 'chaos load' });
    const nc = await connect({
      servers: ctx.nats.url,
      user: 'producer',
      pass: ctx.nats.password('producer'),
      inboxPrefix: natsInboxPrefix('producer'),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    return new Load(stripe, customer.id, nc);
  }

  constructor(stripe, customer, nc) {
    this.stripe = stripe;
    this.customer = customer;
    this.nc = nc;
    this.js = jetstream(nc);
  }

  async meter(tag) {
    const m = await this.stripe.billing.meters.create({
      display_name: tag,
      event_name: tag,
      default_aggregation: { formula: 'sum' },
    });
    return m.id;
  }

  async close() {
    await this.nc.close();
  }
}

/**
 * Publish for `seconds` at `rate` events/s; `inject()` runs a third of the way in. Returns what
 * was acked, and the recovery: from the fault until every service is ready and every event
 * acked before the fault is stored.
 */
export async function ingestPhase(ctx, load, { rate, seconds, inject }) {
  const tag = `chaos_${randomBytes(3).toString('hex')}`;
  const meterId = await load.meter(tag);
  const subject = natsNames('').ingestSubject();
  const acked = new Set();
  let inFlight = 0;
  let batchNo = 0;
  const pending = [];
  const publishUntilAcked = async (id, events, deadline) => {
    const data = JSON.stringify({ events });
    for (;;) {
      try {
        await load.js.publish(subject, data, { msgID: id, timeout: 3000 });
        for (const e of events) acked.add(e.identifier);
        return;
      } catch {
        if (Date.now() > deadline) return;
        await sleep(250);
      }
    }
  };
  const end = Date.now() + seconds * 1000;
  const faultAfter = Math.round((seconds * 1000) / 3);
  // Recovery: from the fault until every service is ready again and everything acked before the fault is stored.
  let recovery = null;
  const faultTimer = sleep(faultAfter).then(async () => {
    const at = Date.now();
    const ackedBefore = [...acked];
    await inject();
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      if ((await allReady(ctx.stack)) && (await storedCount(ctx.db, meterId, ackedBefore)) === ackedBefore.length) {
        recovery = (Date.now() - at) / 1000;
        return;
      }
      await sleep(100);
    }
  });
  const every = (1000 * BATCH) / rate;
  let next = Date.now();
  while (Date.now() < end) {
    if (inFlight < MAX_IN_FLIGHT) {
      const b = batchNo++;
      const events = Array.from({ length: BATCH }, (_, i) => ({
        event_name: tag,
        identifier: `${tag}-${b}-${i}`,
        payload: { stripe_customer_id: load.customer, value: '1' },
      }));
      inFlight++;
      pending.push(publishUntilAcked(`${tag}-${b}`, events, end + 60_000).finally(() => inFlight--));
    }
    next += every;
    await sleep(Math.max(0, next - Date.now()));
  }
  await Promise.all(pending);
  await faultTimer;
  return { tag, meterId, acked, published: batchNo * BATCH, recovery };
}

async function storedCount(db, meterId, identifiers) {
  try {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM ingestion.meter_events WHERE meter_id = $1 AND identifier = ANY($2)`, [
      meterId,
      identifiers,
    ]);
    return rows[0].n;
  } catch {
    return -1; // Postgres not back yet
  }
}

/** Wait (up to 90 s) until every acked event is stored, then count exactly. */
export async function checkIngest(ctx, r) {
  const ids = [...r.acked];
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline && (await storedCount(ctx.db, r.meterId, ids)) < ids.length) await sleep(500);
  // Rollups trail the events by at most one batch: settle.
  await sleep(1500);
  const { rows } = await ctx.db.query(
    `SELECT (SELECT count(*) FROM ingestion.meter_events WHERE meter_id = $1)::int AS rows,
            (SELECT count(DISTINCT identifier) FROM ingestion.meter_events WHERE meter_id = $1)::int AS distinct_ids,
            (SELECT count(*) FROM ingestion.meter_events WHERE meter_id = $1 AND identifier = ANY($2))::int AS acked_stored,
            (SELECT coalesce(sum(sum), 0) FROM ingestion.usage_rollups WHERE meter_id = $1)::int AS rolled_up`,
    [r.meterId, ids],
  );
  const x = rows[0];
  const lost = ids.length - x.acked_stored;
  const doubled = x.rows - x.distinct_ids + Math.max(0, x.rolled_up - x.distinct_ids);
  const ok = lost === 0 && doubled === 0 && x.rolled_up === x.distinct_ids && r.recovery !== null;
  return {
    acked: ids.length,
    stored: x.distinct_ids,
    lost,
    doubled,
    recovery: r.recovery === null ? 'never' : r.recovery.toFixed(1),
    ok,
    why: ok ? undefined : `rows ${x.rows}, distinct ${x.distinct_ids}, rollups ${x.rolled_up}`,
  };
}
