import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiRequest } from '@meterflow/contracts';
import { startServiceForTest, type ServiceUnderTest } from '@meterflow/service-kit';
import { createTestDatabase, deleteNamespaceStreams, testNamespace, type TestDatabase } from '@meterflow/testing';
import { ratingDefinition } from '../src/rating.definition.js';
import { RatingModule } from '../src/rating.module.js';

let db: TestDatabase;
let svc: ServiceUnderTest;
let ns: string;
const req = (params: Record<string, unknown> = {}, path: Record<string, string> = {}): ApiRequest => ({
  params,
  path,
  requestId: 'req_test',
  livemode: false,
});
const call = <T = any>(op: string, params: Record<string, unknown> = {}, path: Record<string, string> = {}) =>
  svc.rpc.request<T>('rating', op, req(params, path));

beforeAll(async () => {
  db = await createTestDatabase();
  ns = testNamespace();
  svc = await startServiceForTest(ratingDefinition, RatingModule, {
    databaseUrl: db.url,
    namespace: ns,
    env: { RATING_SCHEDULER_INTERVAL_MS: '0' },
  });
});
afterAll(async () => {
  await svc?.close();
  if (svc) await deleteNamespaceStreams(svc.nc, ns).catch(() => {});
  await db?.drop();
});

describe('customers', () => {
  it('creates, retrieves, updates, lists and deletes', async () => {
    const c = await call('customers.create', { name: 'Ada', email: 'ada@example.com', metadata: { tier: 'gold' } });
    expect(c).toMatchObject({ object: 'customer', name: 'Ada', email: 'ada@example.com', metadata: { tier: 'gold' }, test_clock: null });
    expect(c.id).toMatch(/^cus_/);
    expect(await call('customers.retrieve', {}, { id: c.id })).toEqual(c);
    const u = await call('customers.update', { name: 'Ada L', metadata: { tier: '', x: '1' } }, { id: c.id });
    expect(u).toMatchObject({ name: 'Ada L', metadata: { x: '1' } });
    const list = await call('customers.list', { email: 'ada@example.com' });
    expect(list).toMatchObject({ object: 'list', has_more: false, url: '/v1/customers' });
    expect(list.data.map((x: any) => x.id)).toEqual([c.id]);
    expect(await call('customers.del', {}, { id: c.id })).toEqual({ id: c.id, object: 'customer', deleted: true });
    expect(await call('customers.retrieve', {}, { id: c.id })).toEqual({ id: c.id, object: 'customer', deleted: true });
    expect((await call('customers.list', { email: 'ada@example.com' })).data).toEqual([]);
  });
  it('answers 404 resource_missing for an unknown customer', async () => {
    await expect(call('customers.retrieve', {}, { id: 'cus_nope' })).rejects.toMatchObject({
      status: 404,
      code: 'resource_missing',
      message: "No such customer: 'cus_nope'",
    });
  });
  it('rejects unknown params like Stripe', async () => {
    await expect(call('customers.create', { nonsense: '1' })).rejects.toMatchObject({ status: 400, code: 'parameter_unknown' });
  });
  it('records customer.created as a Stripe event in the store', async () => {
    const c = await call('customers.create', { name: 'Evt' });
    const { rows } = await svc.app
      .get<any>((await import('@meterflow/service-kit')).PG_POOL)
      .query(`SELECT data FROM rating.events WHERE stream_id = $1 AND type = 'StripeEventEmitted'`, [c.id]);
    expect(rows[0].data).toMatchObject({ type: 'customer.created', object: 'event', data: { object: { id: c.id } } });
    expect(rows[0].data.id).toMatch(/^evt_/);
  });
  it('publishes customer.created on mf.events through the outbox relay', async () => {
    const sub = svc.nc.subscribe(svc.names.eventSubject('customer.created'));
    const got = (async () => {
      for await (const m of sub) {
        const e = m.json<any>();
        if (e.data.object.name === 'Published') return e;
      }
    })();
    await call('customers.create', { name: 'Published' });
    const e = await Promise.race([got, new Promise((_, rej) => setTimeout(() => rej(new Error('no event')), 10_000))]);
    sub.unsubscribe();
    expect(e).toMatchObject({ object: 'event', type: 'customer.created', data: { object: { object: 'customer', name: 'Published' } } });
  });
  it('paginates newest first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await call('customers.create', { email: 'page@example.com' })).id);
    const p1 = await call('customers.list', { email: 'page@example.com', limit: '2' });
    expect(p1.data.map((x: any) => x.id)).toEqual([ids[2], ids[1]]);
    expect(p1.has_more).toBe(true);
    const created = (await call('customers.retrieve', {}, { id: ids[0]! })).created;
    expect((await call('customers.list', { email: 'page@example.com', created: { gte: String(created) } })).data).toHaveLength(3);
    expect((await call('customers.list', { email: 'page@example.com', created: { lt: String(created) } })).data).toHaveLength(0);
    const p2 = await call('customers.list', { email: 'page@example.com', limit: '2', starting_after: ids[1] });
    expect(p2.data.map((x: any) => x.id)).toEqual([ids[0]]);
    expect(p2.has_more).toBe(false);
  });
});

describe('products and prices', () => {
  it('creates the car rental price: metered, 10 USD/hour, divide_by 60 round up', async () => {
    const prod = await call('products.create', { name: 'Car rental' });
    expect(prod).toMatchObject({ object: 'product', name: 'Car rental', active: true });
    const price = await call('prices.create', {
      currency: 'usd',
      product: prod.id,
      unit_amount: '1000',
      recurring: { interval: 'month', usage_type: 'metered', meter: 'mtr_test_123' },
      transform_quantity: { divide_by: '60', round: 'up' },
      lookup_key: 'car_hourly',
    });
    expect(price).toMatchObject({
      object: 'price',
      product: prod.id,
      unit_amount: 1000,
      unit_amount_decimal: '1000',
      recurring: { interval: 'month', interval_count: 1, usage_type: 'metered', meter: 'mtr_test_123' },
      transform_quantity: { divide_by: 60, round: 'up' },
      billing_scheme: 'per_unit',
      type: 'recurring',
    });
    expect(await call('prices.retrieve', {}, { id: price.id })).toEqual(price);
    const listed = await call('prices.list', { recurring: { meter: 'mtr_test_123' } });
    expect(listed.data.map((x: any) => x.id)).toEqual([price.id]);
    const byKey = await call('prices.list', { lookup_keys: ['car_hourly'] });
    expect(byKey.data.map((x: any) => x.id)).toEqual([price.id]);
  });
  it('creates a price with product_data and a fractional decimal amount', async () => {
    const price = await call('prices.create', { currency: 'usd', product_data: { name: 'API calls' }, unit_amount_decimal: '0.25' });
    expect(price.unit_amount).toBeNull();
    expect(price.unit_amount_decimal).toBe('0.25');
    expect(await call('products.retrieve', {}, { id: price.product })).toMatchObject({ name: 'API calls' });
  });
  it('refuses transform_quantity with tiers (400, param transform_quantity)', async () => {
    await expect(
      call('prices.create', {
        currency: 'usd',
        product_data: { name: 'x' },
        billing_scheme: 'tiered',
        tiers_mode: 'graduated',
        tiers: [
          { up_to: '10', unit_amount: '5' },
          { up_to: 'inf', unit_amount: '3' },
        ],
        transform_quantity: { divide_by: '10', round: 'up' },
      }),
    ).rejects.toMatchObject({ status: 400, param: 'transform_quantity', type: 'invalid_request_error' });
  });
  it('creates tiered prices', async () => {
    const price = await call('prices.create', {
      currency: 'usd',
      product_data: { name: 'tiers' },
      billing_scheme: 'tiered',
      tiers_mode: 'volume',
      tiers: [
        { up_to: '10', unit_amount_decimal: '1.5', flat_amount: '100' },
        { up_to: 'inf', unit_amount: '1' },
      ],
      recurring: { interval: 'month', usage_type: 'metered', meter: 'mtr_x' },
    });
    expect(price.tiers[0]).toEqual({
      up_to: 10,
      unit_amount: null,
      unit_amount_decimal: '1.5',
      flat_amount: 100,
      flat_amount_decimal: '100',
    });
    expect(price.tiers[1].up_to).toBeNull();
  });
  it('refuses a metered price without a meter and an unknown product', async () => {
    await expect(
      call('prices.create', {
        currency: 'usd',
        product_data: { name: 'x' },
        unit_amount: '1',
        recurring: { interval: 'month', usage_type: 'metered' },
      }),
    ).rejects.toMatchObject({ status: 400, param: 'recurring[meter]' });
    await expect(call('prices.create', { currency: 'usd', product: 'prod_nope', unit_amount: '1' })).rejects.toMatchObject({ status: 404 });
  });
  it('updates a price (metadata, active, nickname)', async () => {
    const price = await call('prices.create', { currency: 'usd', product_data: { name: 'u' }, unit_amount: '5' });
    const u = await call('prices.update', { active: 'false', nickname: 'old', metadata: { a: 'b' } }, { id: price.id });
    expect(u).toMatchObject({ active: false, nickname: 'old', metadata: { a: 'b' }, unit_amount: 5 });
  });
});
