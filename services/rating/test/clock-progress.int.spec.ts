import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOCK_PROGRESS_OP, type ApiRequest, type ClockProgressReply } from '@meterflow/contracts';
import { startServiceForTest, type ServiceUnderTest } from '@meterflow/service-kit';
import { createTestDatabase, deleteNamespaceStreams, eventually, testNamespace, type TestDatabase } from '@meterflow/testing';
import { ratingDefinition } from '../src/rating.definition.js';
import { RatingModule } from '../src/rating.module.js';
import { PeerStubs } from './peers.js';

/**
 * `test_clocks.progress`, the op `meterflow clock advance` and the console read while a clock
 * advances: the clock's state and how many of its subscriptions still have period-close work.
 * Invoicing (a stand-in) is held unavailable so the advance is caught half-way, then let go.
 */
let db: TestDatabase;
let svc: ServiceUnderTest;
const ns = testNamespace();
const peers = new PeerStubs();

const req = (params: Record<string, unknown> = {}, path: Record<string, string> = {}): ApiRequest => ({
  params,
  path,
  requestId: 'req_test',
  livemode: false,
});
const call = <T = any>(op: string, params: Record<string, unknown> = {}, path: Record<string, string> = {}) =>
  svc.rpc.request<T>('rating', op, req(params, path));
const progress = (clock: string) => svc.rpc.request<ClockProgressReply>('rating', CLOCK_PROGRESS_OP, { clock });
const u = (iso: string): number => Date.parse(iso) / 1000;

beforeAll(async () => {
  db = await createTestDatabase();
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
  if (svc) await deleteNamespaceStreams(svc.nc, ns).catch(() => {});
  await svc?.close();
  await db?.drop();
});

describe('test_clocks.progress', () => {
  it('counts the subscriptions still due while the advance waits, and none once the clock is ready', async () => {
    const t0 = u('2025-01-31T10:00:00Z');
    const target = u('2025-03-01T00:00:00Z');
    const clock = await call('test_clocks.create', { frozen_time: String(t0) });
    const price = await call('prices.create', {
      currency: 'usd',
      product_data: { name: 'Car rental' },
      unit_amount: '1000',
      recurring: { interval: 'month', usage_type: 'metered', meter: 'mtr_minutes' },
    });
    const subs: { id: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const cus = await call('customers.create', { name: `renter ${i}`, test_clock: clock.id });
      subs.push(await call('subscriptions.create', { customer: cus.id, items: [{ price: price.id }] }));
    }
    // A subscription on no clock (or another clock) is not counted.
    const other = await call('customers.create', { name: 'real time' });
    await call('subscriptions.create', { customer: other.id, items: [{ price: price.id }] });

    expect(await progress(clock.id)).toEqual({
      status: 'ready',
      frozen_time: t0,
      reached: t0,
      target: null,
      failure: null,
      subscriptions: { total: 3, due: 0 },
    });

    // Invoicing is away: every period close waits to hand its invoice over.
    peers.invoicingDown = true;
    await call('test_clocks.advance', { frozen_time: String(target) }, { id: clock.id });
    const halfway = await progress(clock.id);
    expect(halfway).toMatchObject({ status: 'advancing', frozen_time: t0, target, failure: null, subscriptions: { total: 3, due: 3 } });
    expect(halfway.reached).toBeLessThan(target);
    // It stays so while invoicing is away (no attempts used up, no failure).
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await progress(clock.id)).toMatchObject({ status: 'advancing', subscriptions: { total: 3, due: 3 } });

    peers.invoicingDown = false;
    const done = await eventually(async () => {
      const p = await progress(clock.id);
      return p.status === 'ready' ? p : undefined;
    }, 20_000);
    expect(done).toEqual({
      status: 'ready',
      frozen_time: target,
      reached: target,
      target: null,
      failure: null,
      subscriptions: { total: 3, due: 0 },
    });
    expect(peers.invoices.filter((i) => subs.some((s) => s.id === i.subscription))).toHaveLength(3);
  }, 40_000);

  it('answers 404 for a clock that does not exist', async () => {
    await expect(progress('clock_missing')).rejects.toMatchObject({ status: 404 });
  });
});
