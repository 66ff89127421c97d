import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiRequest, RatePeriodRequest, RpcReply } from '@meterflow/contracts';
import { encodeJson } from '@meterflow/messaging';
import { startServiceForTest, type ServiceUnderTest } from '@meterflow/service-kit';
import { createTestDatabase, deleteNamespaceStreams, eventually, testNamespace, type TestDatabase } from '@meterflow/testing';
import { ratingDefinition } from '../src/rating.definition.js';
import { RatingModule } from '../src/rating.module.js';
import { PeerStubs } from './peers.js';

/**
 * `billing.rate_periods` against real Postgres and NATS: every item answers exactly what
 * `billing.rate_period` answers for it, and the whole batch costs one `usage.query`.
 * meter-ingestion and invoicing are NATS responders on their real subjects.
 */
let db: TestDatabase;
let svc: ServiceUnderTest;
let ns: string;

const peers = new PeerStubs();
const { usage, invoices } = peers;

const u = (iso: string): number => Date.parse(iso) / 1000;
const call = <T = any>(op: string, params: Record<string, unknown> = {}, path: Record<string, string> = {}) =>
  svc.rpc.request<T>('rating', op, { params, path, requestId: 'req_test', livemode: false } satisfies ApiRequest);
/** The reply exactly as it crosses the wire (`{ok,result}` | `{ok,error}`). */
const raw = async (op: string, payload: unknown): Promise<RpcReply<any>> =>
  (await svc.nc.request(svc.names.rpcSubject('rating', op), encodeJson(payload), { timeout: 10_000 })).json();

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

const metered = (name: string, unit_amount: string) =>
  call('prices.create', {
    currency: 'usd',
    product_data: { name },
    unit_amount,
    recurring: { interval: 'month', usage_type: 'metered', meter: 'mtr_minutes' },
    transform_quantity: { divide_by: '60', round: 'up' },
  });

async function advance(clock: string, to: number) {
  await call('test_clocks.advance', { frozen_time: String(to) }, { id: clock });
  await eventually(async () => {
    const c = await call('test_clocks.retrieve', {}, { id: clock });
    if (c.status === 'internal_failure') throw new Error('clock failed');
    return c.status === 'ready' ? c : undefined;
  }, 20_000);
}

describe('billing.rate_periods', () => {
  it('answers each item as billing.rate_period does, with one usage query for the whole batch', async () => {
    const t0 = u('2025-01-01T00:00:00Z');
    const end = u('2025-02-01T00:00:00Z');
    const mid = u('2025-01-16T00:00:00Z');
    const clock = await call('test_clocks.create', { frozen_time: String(t0) });
    const [cusA, cusB, cusC] = await Promise.all([1, 2, 3].map(() => call('customers.create', { test_clock: clock.id })));
    const car = await metered('Car rental', '1000');
    const van = await metered('Van rental', '2500');
    const seat = await call('prices.create', {
      currency: 'usd',
      product_data: { name: 'Seat' },
      unit_amount: '500',
      recurring: { interval: 'month' },
    });

    // A: metered only. B: licensed seats (a creation invoice, then cycle invoices) + metered.
    // C: its metered price changes mid-period (flexible: the old price's usage is an invoice item
    // made at the change, carried by the cycle invoice; not re-rated).
    const subA = await call('subscriptions.create', { customer: cusA.id, items: [{ price: car.id }] });
    const subB = await call('subscriptions.create', { customer: cusB.id, items: [{ price: seat.id, quantity: '2' }, { price: car.id }] });
    const subC = await call('subscriptions.create', { customer: cusC.id, items: [{ price: car.id }] });
    usage.push({ meter: 'mtr_minutes', customer: cusA.id, ts: t0 + 3600, value: 150 });
    usage.push({ meter: 'mtr_minutes', customer: cusB.id, ts: t0 + 7200, value: 60 });
    usage.push({ meter: 'mtr_minutes', customer: cusC.id, ts: t0 + 3600, value: 120 }); // car, before the change
    await advance(clock.id, mid);
    await call('subscription_items.update', { price: van.id }, { id: subC.items.data[0].id });
    usage.push({ meter: 'mtr_minutes', customer: cusC.id, ts: mid + 3600, value: 180 }); // van, after the change
    await advance(clock.id, end + 3600);

    const closed = (sub: string, reason: string) =>
      invoices.find((i) => i.subscription === sub && i.billing_reason === reason && i.period_end === end)!;
    const c = closed(subC.id, 'subscription_cycle');
    expect(c.lines.map((l) => [l.price, l.period.start, l.period.end, l.amount])).toEqual([[van.id, mid, end, 7500]]);
    expect(c.invoice_items!.map((l) => [l.price, l.period.start, l.period.end, l.amount, l.id.startsWith('ii_')])).toEqual([
      [car.id, t0, mid, 2000, true],
    ]);

    // usage that arrived after the close, inside the periods, is what re-rating is for
    usage.push({ meter: 'mtr_minutes', customer: cusA.id, ts: end - 60, value: 60 });
    usage.push({ meter: 'mtr_minutes', customer: cusC.id, ts: mid - 60, value: 60 });
    usage.push({ meter: 'mtr_minutes', customer: cusC.id, ts: end - 60, value: 60 });

    const period = { period_start: t0, period_end: end };
    const requests: RatePeriodRequest[] = [
      { subscription: subA.id, ...period },
      { subscription: subB.id, ...period, billing_reason: 'subscription_cycle' },
      { subscription: subB.id, ...period, billing_reason: 'subscription_create' },
      { subscription: subC.id, ...period },
      { subscription: 'sub_unknown', ...period },
      { subscription: subA.id, period_start: end, period_end: u('2025-03-01T00:00:00Z') }, // not closed yet
      { subscription: subB.id, ...period, billing_reason: 'subscription_update' }, // no such close
      { subscription: subA.id, ...period },
    ];

    const before = peers.usageQueries;
    const batch = await raw('billing.rate_periods', { requests });
    expect(peers.usageQueries - before).toBe(1);
    expect(batch.ok).toBe(true);
    const results = (batch as { ok: true; result: { results: RpcReply<any>[] } }).result.results;

    const singles: RpcReply<any>[] = [];
    for (const r of requests) singles.push(await raw('billing.rate_period', r));
    expect(results).toEqual(singles);

    // and the answers are the right ones, not merely the same
    const lines = (i: number) => (results[i] as { ok: true; result: { lines: any[] } }).result.lines;
    expect(lines(0).map((l) => [l.quantity, l.amount])).toEqual([[210, 4000]]); // 150 + 60 late minutes = 4 hours
    expect(lines(1)).toEqual(closed(subB.id, 'subscription_cycle').lines);
    expect(lines(2)).toEqual(closed(subB.id, 'subscription_create').lines); // licensed only: as created
    // the van window re-rated with the late minute (240 minutes before the transform: 4 hours); the
    // car usage was billed by its invoice item at the change, as Stripe does (docs/lifecycle.md)
    expect(lines(3).map((l) => [l.price, l.quantity, l.amount])).toEqual([[van.id, 240, 10000]]);
    expect(results[4]).toEqual({
      ok: false,
      error: expect.objectContaining({ code: 'resource_missing', status: 404, param: 'subscription' }),
    });
    expect(results[5]).toEqual({ ok: false, error: expect.objectContaining({ code: 'period_not_closed', status: 404 }) });
    expect(results[6]).toEqual({ ok: false, error: expect.objectContaining({ code: 'period_not_closed', status: 404 }) });
    expect(results[7]).toEqual(results[0]);
  });

  it('refuses a malformed batch with a 400 naming the field', async () => {
    expect(await raw('billing.rate_periods', { requests: [] })).toMatchObject({ ok: false, error: { status: 400, param: 'requests' } });
    expect(await raw('billing.rate_periods', { requests: [{ subscription: 'sub_x', period_start: -1, period_end: 1 }] })).toMatchObject({
      ok: false,
      error: { status: 400 },
    });
  });
});
