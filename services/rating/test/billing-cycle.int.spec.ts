import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiRequest, RatePeriodReply } from '@meterflow/contracts';
import { PG_POOL, startServiceForTest, type ServiceUnderTest } from '@meterflow/service-kit';
import { createTestDatabase, deleteNamespaceStreams, eventually, testNamespace, type TestDatabase } from '@meterflow/testing';
import type pg from 'pg';
import { ratingDefinition } from '../src/rating.definition.js';
import { RatingModule } from '../src/rating.module.js';
import { PeerStubs } from './peers.js';

/**
 * Rating against real Postgres and NATS; meter-ingestion and invoicing are stood in for by tiny
 * NATS responders on their real subjects (usage.query, subscription_invoices.create, clock ops).
 */
let db: TestDatabase;
let svc: ServiceUnderTest;
let ns: string;

// Stand-ins' state: usage per (meter, customer) as [timestamp, value] events; invoices received.
const peers = new PeerStubs();
const { usage, invoices, clockCalls } = peers;

const req = (params: Record<string, unknown> = {}, path: Record<string, string> = {}): ApiRequest => ({
  params,
  path,
  requestId: 'req_test',
  livemode: false,
});
const call = <T = any>(op: string, params: Record<string, unknown> = {}, path: Record<string, string> = {}) =>
  svc.rpc.request<T>('rating', op, req(params, path));
const u = (iso: string): number => Date.parse(iso) / 1000;

beforeAll(async () => {
  db = await createTestDatabase();
  ns = testNamespace();
  svc = await startServiceForTest(ratingDefinition, RatingModule, {
    databaseUrl: db.url,
    namespace: ns,
    env: {
      LOG_LEVEL: 'fatal',
      RATING_SCHEDULER_INTERVAL_MS: '0',
      RATING_CLOCK_PARTICIPANTS: 'meter-ingestion,rating,invoicing',
      RATING_RPC_TIMEOUT_MS: '2000',
    },
  });
  peers.start(svc);
});
afterAll(async () => {
  peers.close();
  await svc?.close();
  if (svc) await deleteNamespaceStreams(svc.nc, ns).catch(() => {});
  await db?.drop();
});

async function carRental() {
  const price = await call('prices.create', {
    currency: 'usd',
    product_data: { name: 'Car rental' },
    unit_amount: '1000',
    recurring: { interval: 'month', usage_type: 'metered', meter: 'mtr_minutes' },
    transform_quantity: { divide_by: '60', round: 'up' },
  });
  return price;
}

/** `n` car-rental subscriptions of one new customer without a clock, and the latest of their first period ends. */
async function subscriptionsWithoutClock(n: number): Promise<{ created: string[]; due: number }> {
  const cus = await call('customers.create', {});
  const price = await carRental();
  const created: string[] = [];
  for (let i = 0; i < n; i++) created.push((await call('subscriptions.create', { customer: cus.id, items: [{ price: price.id }] })).id);
  const pool = svc.app.get<pg.Pool>(PG_POOL);
  const { rows } = await pool.query<{ next_due: string }>(`SELECT next_due FROM subscriptions WHERE id = ANY($1)`, [created]);
  return { created, due: Math.max(...rows.map((r) => Number(r.next_due))) };
}

async function waitReady(clock: string) {
  return eventually(async () => {
    const c = await call('test_clocks.retrieve', {}, { id: clock });
    if (c.status === 'internal_failure') throw new Error('clock failed');
    return c.status === 'ready' ? c : undefined;
  }, 20_000);
}

describe('test clocks', () => {
  it('creates, lists, retrieves, deletes; refuses going backwards', async () => {
    const c = await call('test_clocks.create', { frozen_time: String(u('2025-01-01T00:00:00Z')), name: 'lifecycle' });
    expect(c).toMatchObject({ object: 'test_helpers.test_clock', status: 'ready', name: 'lifecycle', status_details: {} });
    expect((await call('test_clocks.list')).data.map((x: any) => x.id)).toContain(c.id);
    await expect(call('test_clocks.advance', { frozen_time: String(u('2024-12-01T00:00:00Z')) }, { id: c.id })).rejects.toMatchObject({
      status: 400,
      param: 'frozen_time',
    });
    const cus = await call('customers.create', { test_clock: c.id });
    expect(await call('test_clocks.del', {}, { id: c.id })).toEqual({ id: c.id, object: 'test_helpers.test_clock', deleted: true });
    expect(await call('customers.retrieve', {}, { id: cus.id })).toMatchObject({ deleted: true });
    await expect(call('test_clocks.retrieve', {}, { id: c.id })).rejects.toMatchObject({ status: 404 });
  });
});

describe('the car rental cycle on a test clock', () => {
  it('bills 150 minutes as 3 hours = 3000 at the period end, and rolls the items', async () => {
    const t0 = u('2025-01-31T10:00:00Z');
    const clock = await call('test_clocks.create', { frozen_time: String(t0) });
    const cus = await call('customers.create', { name: 'Renter', test_clock: clock.id });
    expect(cus.test_clock).toBe(clock.id);
    // clock customers are not in the default list
    expect((await call('customers.list')).data.map((x: any) => x.id)).not.toContain(cus.id);
    expect((await call('customers.list', { test_clock: clock.id })).data.map((x: any) => x.id)).toEqual([cus.id]);

    const price = await carRental();
    const sub = await call('subscriptions.create', { customer: cus.id, items: [{ price: price.id }] });
    expect(sub).toMatchObject({
      object: 'subscription',
      status: 'active',
      test_clock: clock.id,
      billing_mode: { type: 'flexible' },
      start_date: t0,
    });
    expect(sub).not.toHaveProperty('current_period_end');
    const item = sub.items.data[0];
    expect(item).toMatchObject({ current_period_start: t0, current_period_end: u('2025-02-28T10:00:00Z'), price: { id: price.id } });
    expect(item).not.toHaveProperty('quantity');

    usage.push({ meter: 'mtr_minutes', customer: cus.id, ts: t0 + 3600, value: 100 });
    usage.push({ meter: 'mtr_minutes', customer: cus.id, ts: t0 + 7200, value: 50 });
    usage.push({ meter: 'mtr_minutes', customer: cus.id, ts: u('2025-02-28T10:00:00Z'), value: 999 }); // next period

    // more than two intervals ahead is refused
    await expect(call('test_clocks.advance', { frozen_time: String(u('2025-04-30T10:00:01Z')) }, { id: clock.id })).rejects.toMatchObject({
      status: 400,
    });
    // Invoicing has more work than one call's budget twice: the loop asks again until it is done.
    peers.invoicingStepsLeft = 2;
    const adv = await call('test_clocks.advance', { frozen_time: String(u('2025-03-01T00:00:00Z')) }, { id: clock.id });
    expect(adv).toMatchObject({ status: 'advancing', status_details: { advancing: { target_frozen_time: u('2025-03-01T00:00:00Z') } } });
    const ready = await waitReady(clock.id);
    expect(ready.frozen_time).toBe(u('2025-03-01T00:00:00Z'));

    const inv = invoices.filter((i) => i.subscription === sub.id);
    expect(inv).toHaveLength(1);
    expect(inv[0]).toMatchObject({
      idempotency_key: `${sub.id}:${t0}:subscription_cycle`,
      billing_reason: 'subscription_cycle',
      customer: cus.id,
      currency: 'usd',
      period_start: t0,
      period_end: u('2025-02-28T10:00:00Z'),
      created: u('2025-02-28T10:00:00Z'),
      test_clock: clock.id,
    });
    expect(inv[0]!.lines).toEqual([
      expect.objectContaining({
        subscription_item: item.id,
        price: price.id,
        quantity: 150,
        amount: 3000,
        meter: 'mtr_minutes',
        unit_amount_decimal: '1000',
        period: { start: t0, end: u('2025-02-28T10:00:00Z') },
      }),
    ]);
    // every participant was driven to the period end, in order
    expect(clockCalls).toContain(`meter-ingestion@${u('2025-02-28T10:00:00Z')}`);
    expect(clockCalls).toContain(`invoicing@${u('2025-02-28T10:00:00Z')}`);
    expect(peers.invoicingStepsLeft).toBe(0);
    expect(clockCalls.filter((c) => c === `invoicing@${u('2025-02-28T10:00:00Z')}`)).toHaveLength(3);

    const after = await call('subscriptions.retrieve', {}, { id: sub.id });
    expect(after.items.data[0]).toMatchObject({
      current_period_start: u('2025-02-28T10:00:00Z'),
      current_period_end: u('2025-03-31T10:00:00Z'),
    });
    expect(after.latest_invoice).toMatch(/^in_/);

    // invoicing re-rates the closed period at finalization: late usage inside the period counts
    usage.push({ meter: 'mtr_minutes', customer: cus.id, ts: u('2025-02-20T00:00:00Z'), value: 60 });
    const rerated = await svc.rpc.request<RatePeriodReply>('rating', 'billing.rate_period', {
      subscription: sub.id,
      period_start: t0,
      period_end: u('2025-02-28T10:00:00Z'),
    });
    expect(rerated.lines.map((l) => [l.quantity, l.amount])).toEqual([[210, 4000]]); // 210 minutes bill 4 hours

    // Stripe events recorded
    const pool = svc.app.get<pg.Pool>(PG_POOL);
    const { rows } = await pool.query(
      `SELECT data->>'type' AS t FROM events WHERE type IN ('StripeEventEmitted', 'StripeEventAnnounced') AND stream_id IN ($1, $2)`,
      [sub.id, clock.id],
    );
    const types = rows.map((r: any) => r.t);
    expect(types).toEqual(
      expect.arrayContaining([
        'customer.subscription.created',
        'customer.subscription.updated',
        'test_helpers.test_clock.created',
        'test_helpers.test_clock.advancing',
        'test_helpers.test_clock.ready',
      ]),
    );
  });

  it('cancel_at_period_end produces a final invoice and ends the subscription', async () => {
    const t0 = u('2025-03-15T00:00:00Z');
    const clock = await call('test_clocks.create', { frozen_time: String(t0) });
    const cus = await call('customers.create', { test_clock: clock.id });
    const price = await carRental();
    const sub = await call('subscriptions.create', { customer: cus.id, items: [{ price: price.id }], cancel_at_period_end: 'true' });
    expect(sub).toMatchObject({ cancel_at_period_end: true, cancel_at: u('2025-04-15T00:00:00Z') });
    usage.push({ meter: 'mtr_minutes', customer: cus.id, ts: t0 + 10, value: 61 });
    await call('test_clocks.advance', { frozen_time: String(u('2025-04-20T00:00:00Z')) }, { id: clock.id });
    await waitReady(clock.id);
    const after = await call('subscriptions.retrieve', {}, { id: sub.id });
    expect(after).toMatchObject({ status: 'canceled', ended_at: u('2025-04-15T00:00:00Z') });
    const inv = invoices.filter((i) => i.subscription === sub.id);
    expect(inv.map((i) => i.lines[0]!.amount)).toEqual([2000]);
    // canceled subscriptions are out of the default list
    expect((await call('subscriptions.list', { customer: cus.id })).data).toEqual([]);
    expect((await call('subscriptions.list', { customer: cus.id, status: 'canceled' })).data).toHaveLength(1);
  });

  it('a clock advance waits while invoicing is unavailable (503) and finishes by itself when it is back, invoicing once', async () => {
    const t0 = u('2025-04-01T00:00:00Z');
    const clock = await call('test_clocks.create', { frozen_time: String(t0) });
    const cus = await call('customers.create', { test_clock: clock.id });
    const price = await carRental();
    const sub = await call('subscriptions.create', { customer: cus.id, items: [{ price: price.id }] });
    peers.invoicingDown = true;
    try {
      await call('test_clocks.advance', { frozen_time: String(u('2025-05-02T00:00:00Z')) }, { id: clock.id });
      // Longer than the three attempts a failure gets: an outage is waited out, not a failure.
      await new Promise((r) => setTimeout(r, 4_000));
      const waiting = await call('test_clocks.retrieve', {}, { id: clock.id });
      expect(waiting).toMatchObject({ status: 'advancing', frozen_time: t0 });
    } finally {
      peers.invoicingDown = false;
    }
    await waitReady(clock.id);
    expect(invoices.filter((i) => i.subscription === sub.id)).toHaveLength(1);
    expect((await call('subscriptions.retrieve', {}, { id: sub.id })).latest_invoice).toMatch(/^in_/);
  });

  it('a clock advance whose invoicing fails (500) ends in internal_failure; a later advance completes the work', async () => {
    const t0 = u('2025-05-01T00:00:00Z');
    const clock = await call('test_clocks.create', { frozen_time: String(t0) });
    const cus = await call('customers.create', { test_clock: clock.id });
    const price = await carRental();
    const sub = await call('subscriptions.create', { customer: cus.id, items: [{ price: price.id }] });
    peers.invoicingBroken = true;
    try {
      await call('test_clocks.advance', { frozen_time: String(u('2025-06-02T00:00:00Z')) }, { id: clock.id });
      const failed = await eventually(async () => {
        const c = await call('test_clocks.retrieve', {}, { id: clock.id });
        return c.status === 'internal_failure' ? c : undefined;
      }, 20_000);
      expect(failed.frozen_time).toBe(t0);
    } finally {
      peers.invoicingBroken = false;
    }
    // The period was closed durably; the retry hands the invoice over exactly once.
    await call('test_clocks.advance', { frozen_time: String(u('2025-06-03T00:00:00Z')) }, { id: clock.id });
    await waitReady(clock.id);
    expect(invoices.filter((i) => i.subscription === sub.id)).toHaveLength(1);
    expect((await call('subscriptions.retrieve', {}, { id: sub.id })).latest_invoice).toMatch(/^in_/);
  });
});

describe('meters', () => {
  it('a metered price must name a meter ingestion knows', async () => {
    await expect(
      call('prices.create', {
        currency: 'usd',
        product_data: { name: 'x' },
        unit_amount: '1',
        recurring: { interval: 'month', usage_type: 'metered', meter: 'mtr_missing' },
      }),
    ).rejects.toMatchObject({ status: 404, param: 'recurring[meter]' });
  });
});

describe('subscriptions API', () => {
  it('items: add, change price (flexible bills old usage on the next invoice), list, delete', async () => {
    const clock = await call('test_clocks.create', { frozen_time: String(u('2025-07-01T00:00:00Z')) });
    const cus = await call('customers.create', { test_clock: clock.id });
    const a = await carRental();
    const b = await carRental();
    const c = await carRental();
    const sub = await call('subscriptions.create', { customer: cus.id, items: [{ price: a.id }], metadata: { k: 'v' } });
    expect(sub.metadata).toEqual({ k: 'v' });
    const added = await call('subscription_items.create', { subscription: sub.id, price: b.id });
    expect(added).toMatchObject({ object: 'subscription_item', subscription: sub.id, price: { id: b.id } });
    expect((await call('subscription_items.list', { subscription: sub.id })).data).toHaveLength(2);
    usage.push({ meter: 'mtr_minutes', customer: cus.id, ts: u('2025-07-01T00:00:10Z'), value: 120 });
    const firstItem = sub.items.data[0].id;
    const changed = await call('subscription_items.update', { price: c.id }, { id: firstItem });
    expect(changed.price.id).toBe(c.id);
    expect(await call('subscription_items.retrieve', {}, { id: firstItem })).toMatchObject({ price: { id: c.id } });
    expect(await call('subscription_items.del', {}, { id: added.id })).toEqual({
      id: added.id,
      object: 'subscription_item',
      deleted: true,
    });
    await expect(call('subscription_items.retrieve', {}, { id: added.id })).rejects.toMatchObject({ status: 404 });
    await expect(call('subscriptions.create', { customer: cus.id, items: [{ price: a.id, quantity: '2' }] })).rejects.toMatchObject({
      status: 400,
      param: 'items[0][quantity]',
    });
    const state = await call('subscriptions.retrieve', {}, { id: sub.id });
    expect(state.items.data.map((i: any) => i.id)).toEqual([firstItem]);
  });

  it('licensed items: a subscription_create invoice at once, then billed in advance at each cycle', async () => {
    const t0 = u('2025-09-01T00:00:00Z');
    const clock = await call('test_clocks.create', { frozen_time: String(t0) });
    const cus = await call('customers.create', { test_clock: clock.id });
    const seat = await call('prices.create', {
      currency: 'usd',
      product_data: { name: 'Seat' },
      unit_amount: '500',
      recurring: { interval: 'month' },
    });
    const sub = await call('subscriptions.create', { customer: cus.id, items: [{ price: seat.id, quantity: '2' }] });
    expect(sub.items.data[0].quantity).toBe(2);
    expect(sub.latest_invoice).toMatch(/^in_/);
    const first = invoices.filter((i) => i.subscription === sub.id);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({
      billing_reason: 'subscription_create',
      lines: [{ quantity: 2, amount: 1000, description: '2 × Seat', meter: null }],
    });
    const again = await svc.rpc.request<RatePeriodReply>('rating', 'billing.rate_period', {
      subscription: sub.id,
      period_start: first[0]!.period_start,
      period_end: first[0]!.period_end,
    });
    expect(again.lines).toEqual(first[0]!.lines);
    await call('test_clocks.advance', { frozen_time: String(u('2025-10-01T00:00:00Z')) }, { id: clock.id });
    await waitReady(clock.id);
    const cycle = invoices.filter((i) => i.subscription === sub.id && i.billing_reason === 'subscription_cycle');
    expect(cycle).toHaveLength(1);
    expect(cycle[0]!.lines).toEqual([
      expect.objectContaining({ amount: 1000, period: { start: u('2025-10-01T00:00:00Z'), end: u('2025-11-01T00:00:00Z') } }),
    ]);

    // the creation and the first cycle invoice cover the same period: billing_reason picks the close
    expect([cycle[0]!.period_start, cycle[0]!.period_end]).toEqual([first[0]!.period_start, first[0]!.period_end]);
    const period = { subscription: sub.id, period_start: first[0]!.period_start, period_end: first[0]!.period_end };
    const rate = (extra: object) => svc.rpc.request<RatePeriodReply>('rating', 'billing.rate_period', { ...period, ...extra });
    expect((await rate({ billing_reason: 'subscription_create' })).lines).toEqual(first[0]!.lines);
    expect((await rate({ billing_reason: 'subscription_cycle' })).lines).toEqual(cycle[0]!.lines);
    expect((await rate({})).lines).toEqual(cycle[0]!.lines); // without a reason: the latest close
    await expect(rate({ billing_reason: 'subscription_update' })).rejects.toMatchObject({ code: 'period_not_closed' });
  });

  it('deleting a customer cancels its subscriptions', async () => {
    const cus = await call('customers.create', {});
    const price = await carRental();
    const sub = await call('subscriptions.create', { customer: cus.id, items: [{ price: price.id }] });
    await call('customers.del', {}, { id: cus.id });
    expect(await call('subscriptions.retrieve', {}, { id: sub.id })).toMatchObject({ status: 'canceled' });
  });

  it('DELETE with invoice_now bills usage so far on a final invoice', async () => {
    const t0 = u('2025-08-01T00:00:00Z');
    const clock = await call('test_clocks.create', { frozen_time: String(t0) });
    const cus = await call('customers.create', { test_clock: clock.id });
    const price = await carRental();
    const sub = await call('subscriptions.create', { customer: cus.id, items: [{ price: price.id }] });
    usage.push({ meter: 'mtr_minutes', customer: cus.id, ts: t0 - 1, value: 500 }); // before start: not billed
    await call('test_clocks.advance', { frozen_time: String(t0 + 86400) }, { id: clock.id });
    await waitReady(clock.id);
    usage.push({ meter: 'mtr_minutes', customer: cus.id, ts: t0 + 100, value: 30 });
    const canceled = await call('subscriptions.cancel', { invoice_now: 'true' }, { id: sub.id });
    expect(canceled).toMatchObject({ status: 'canceled', canceled_at: t0 + 86400, ended_at: t0 + 86400 });
    const inv = invoices.filter((i) => i.subscription === sub.id);
    expect(inv).toHaveLength(1);
    expect(inv[0]).toMatchObject({
      billing_reason: 'subscription_update',
      period_end: t0 + 86400,
      lines: [{ quantity: 30, amount: 1000 }],
    });
    await expect(call('subscriptions.update', { cancel_at_period_end: 'true' }, { id: sub.id })).rejects.toMatchObject({ status: 400 });
  });

  it('closes periods of customers without a clock on the real-time path, in batches with one usage query each', async () => {
    const { created, due } = await subscriptionsWithoutClock(3);
    const { PeriodCloseService } = await import('../src/application/period-close.service.js');
    const before = peers.usageQueries;
    const res = await svc.app.get(PeriodCloseService).runDue(null, due);
    expect(res.closed).toBe(3);
    expect(peers.usageQueries - before).toBe(1);
    expect(invoices.filter((i) => created.includes(i.subscription))).toHaveLength(3);
    // idempotent: nothing more is due
    expect((await svc.app.get(PeriodCloseService).runDue(null, due)).closed).toBe(0);
  });

  it('a close over several periods walks the due range in keyset batches and closes every period, each on its own invoice', async () => {
    const { created, due } = await subscriptionsWithoutClock(4);
    // Three monthly period ends fall within 62 days of the first (two months are at most 62 days), a fourth cannot.
    const at = due + 62 * 86_400;
    const { SUBSCRIPTION_SCHEDULE } = await import('../src/application/ports.js');
    const schedule = svc.app.get<import('../src/application/ports.js').SubscriptionSchedule>(SUBSCRIPTION_SCHEDULE);
    const walk = async () => {
      const seen: { id: string; next_due: number }[] = [];
      for (let after: (typeof seen)[number] | null = null; ;) {
        const batch = await schedule.due(null, at, after, 3);
        if (batch.length === 0) return seen;
        seen.push(...batch);
        after = batch.at(-1)!;
      }
    };
    const walked = await walk();
    expect(walked.map((w) => w.id)).toEqual(expect.arrayContaining(created));
    for (let i = 1; i < walked.length; i++) {
      const [a, b] = [walked[i - 1]!, walked[i]!];
      expect(a.next_due < b.next_due || (a.next_due === b.next_due && a.id < b.id)).toBe(true);
    }
    const { PeriodCloseService } = await import('../src/application/period-close.service.js');
    const res = await svc.app.get(PeriodCloseService).runDue(null, at);
    expect(res.closed).toBeGreaterThanOrEqual(3 * created.length);
    for (const sub of created) {
      const ends = invoices.filter((i) => i.subscription === sub).map((i) => i.period_end);
      expect(ends).toHaveLength(3);
      expect(new Set(ends).size).toBe(3);
    }
    expect((await walk()).map((w) => w.id)).not.toEqual(expect.arrayContaining([created[0]]));
  });
});

describe('read models', () => {
  it('are rebuilt by replay to exactly what they were', async () => {
    const { rebuildReadModels, READ_MODEL_TABLES } = await import('../src/adapters/projections/read-model.rebuild.js');
    const { ratingReadModels } = await import('../src/adapters/persistence/read-models.js');
    const { EVENT_STORE } = await import('@meterflow/service-kit');
    const pool = svc.app.get<pg.Pool>(PG_POOL);
    const snapshot = async () => {
      const out: Record<string, unknown[]> = {};
      for (const t of READ_MODEL_TABLES) out[t] = (await pool.query(`SELECT * FROM ${t} ORDER BY id`)).rows;
      return out;
    };
    const before = await snapshot();
    expect(before.subscriptions!.length).toBeGreaterThan(3);
    const store = svc.app.get<any>(EVENT_STORE);
    const res = await rebuildReadModels(store, ratingReadModels(store.pool));
    expect(res.events).toBeGreaterThan(0);
    const after = await snapshot();
    // subscription_items.deleted rows come back only for items that still exist (deletions are
    // folded away): compare the live ones, and everything else exactly.
    const live = (rows: any[]) => rows.filter((r) => !r.deleted);
    expect(live(after.subscription_items!)).toEqual(live(before.subscription_items!));
    for (const t of READ_MODEL_TABLES.filter((x) => x !== 'subscription_items')) expect(after[t]).toEqual(before[t]);
  });
});
