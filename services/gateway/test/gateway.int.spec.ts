import Stripe from 'stripe';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { startServiceForTest, type ServiceUnderTest } from '@meterflow/service-kit';
import { connectTestNats, createTestDatabase, deleteNamespaceStreams, testNamespace, type TestDatabase } from '@meterflow/testing';
import { gatewayDefinition } from '../src/gateway.definition.js';
import { GatewayModule } from '../src/gateway.module.js';
import { requestHash } from '@meterflow/stripe-api';
import { IDEMPOTENCY_STORE, PgIdempotencyStore, type IdempotencyStore } from '../src/adapters/persistence/idempotency.store.js';
import { FakeServices } from './fake-services.js';

let db: TestDatabase;
let gw: ServiceUnderTest;
let nc: NatsConnection;
let fake: FakeServices;
let stripe: Stripe;
let port: number;
let namespace: string;

beforeAll(async () => {
  db = await createTestDatabase('mf_gateway');
  namespace = testNamespace();
  nc = await connectTestNats();
  fake = new FakeServices(nc, namespace);
  fake.start();
  gw = await startServiceForTest(gatewayDefinition, GatewayModule, {
    databaseUrl: db.url,
    namespace,
    env: { MF_API_KEYS: 'sk_test_meterflow,sk_test_other', MF_RPC_TIMEOUT_MS: '5000', OTEL_SDK_DISABLED: 'true' },
  });
  port = Number(new URL(gw.url).port);
  stripe = new Stripe('sk_test_meterflow', { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0, telemetry: false });
});

afterAll(async () => {
  await gw?.close();
  fake?.stop();
  if (nc) await deleteNamespaceStreams(nc, namespace);
  await nc?.drain();
  await db?.drop();
});

/** The error a call fails with (fails the test when it succeeds). */
const failure = (p: Promise<unknown>): Promise<Stripe.errors.StripeError> =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e as Stripe.errors.StripeError,
  );

const raw = (path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${port}${path}`, {
    ...init,
    headers: { authorization: 'Bearer sk_test_meterflow', ...(init.headers as Record<string, string>) },
  });

describe('gateway', () => {
  it('forwards nested and array form params intact, with request facts', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: 1_700_000_000 });
    const customer = await stripe.customers.create({
      name: 'Ada',
      metadata: { plan: 'pro', note: 'a b&c=d[e]' },
      test_clock: clock.id,
    });
    await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: 'price_a', quantity: 2 }, { price: 'price_b' }],
      billing_thresholds: { amount_gte: 1000 },
      description: '',
    } as Stripe.SubscriptionCreateParams);
    const req = fake.lastOf('subscriptions.create')!;
    expect(req.params).toEqual({
      customer: customer.id,
      items: [{ price: 'price_a', quantity: '2' }, { price: 'price_b' }],
      billing_thresholds: { amount_gte: '1000' },
      description: '',
    });
    expect(req.path).toEqual({});
    expect(req.requestId).toMatch(/^req_/);
    expect(req.livemode).toBe(false);
    expect(req.idempotencyKey).toMatch(/^stripe-node-retry-/);
    expect(req.apiVersion).toBeTruthy();
    expect(fake.lastOf('customers.create')!.params.metadata).toEqual({ plan: 'pro', note: 'a b&c=d[e]' });
  });

  it('decodes escaped and unescaped brackets and unindexed arrays the same way', async () => {
    await raw('/v1/subscriptions', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'customer=cus_x&items%5B0%5D%5Bprice%5D=p1&items[1][price]=p2&expand[]=customer&expand[]=test_clock',
    });
    expect(fake.lastOf('subscriptions.create')!.params).toEqual({ customer: 'cus_x', items: [{ price: 'p1' }, { price: 'p2' }] });
  });

  it('GET query params and path params reach the service', async () => {
    const c = await stripe.customers.create({ name: 'x' });
    const got = await stripe.customers.retrieve(c.id);
    expect(got.id).toBe(c.id);
    expect(fake.lastOf('customers.retrieve')!.path).toEqual({ id: c.id });
  });

  it('errors come back as the right Stripe error classes with request ids', async () => {
    const missing = await failure(stripe.customers.retrieve('cus_nope'));
    expect(missing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(missing).toMatchObject({ statusCode: 404, code: 'resource_missing', message: "No such customer: 'cus_nope'", param: 'id' });
    expect((missing as Stripe.errors.StripeError).requestId).toMatch(/^req_/);
    expect((missing as Stripe.errors.StripeError).headers!['stripe-should-retry']).toBe('false');

    const boom = await failure(stripe.prices.create({ currency: 'usd', product: 'prod_1' }));
    expect(boom).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(boom).toMatchObject({ statusCode: 500, type: 'StripeAPIError' });

    const badKey = new Stripe('sk_test_wrongkey1234', { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0 });
    const auth = await failure(badKey.customers.list());
    expect(auth).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect((auth as Error).message).toBe('Invalid API Key provided: sk_test_********1234');

    const noKey = await fetch(`http://127.0.0.1:${port}/v1/customers`);
    expect(noKey.status).toBe(401);
    expect(((await noKey.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');

    const down = await failure(stripe.invoices.list());
    expect(down).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(down).toMatchObject({ statusCode: 503, code: 'service_unavailable' });
  });

  it("unknown URLs and methods get Stripe's 404", async () => {
    const r = await raw('/v1/nope?x=1');
    expect(r.status).toBe(404);
    expect(r.headers.get('request-id')).toMatch(/^req_/);
    expect(await r.json()).toEqual({
      error: { type: 'invalid_request_error', message: 'Unrecognized request URL (GET: /v1/nope).' },
    });
    const wrongMethod = await raw('/v1/customers', { method: 'PUT' });
    expect(wrongMethod.status).toBe(404);
    expect(((await wrongMethod.json()) as { error: { message: string } }).error.message).toBe(
      'Unrecognized request URL (PUT: /v1/customers).',
    );
    const viaSdk = await failure(stripe.rawRequest('GET', '/v1/nope'));
    expect(viaSdk).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });

  it('replays an idempotent request and rejects the key with other params', async () => {
    const first = await stripe.customers.create({ name: 'Idem' }, { idempotencyKey: 'key-1' });
    const calls = fake.countOf('customers.create');
    const replay = await stripe.customers.create({ name: 'Idem' }, { idempotencyKey: 'key-1' });
    expect(replay.id).toBe(first.id);
    expect(replay.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(fake.countOf('customers.create')).toBe(calls);

    const mismatch = await failure(stripe.customers.create({ name: 'Other' }, { idempotencyKey: 'key-1' }));
    expect(mismatch).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect((mismatch as Error).message).toBe(
      "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'key-1' if you meant to execute a different request.",
    );

    // Keys are scoped by API key.
    const other = new Stripe('sk_test_other', { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0 });
    const fresh = await other.customers.create({ name: 'Other' }, { idempotencyKey: 'key-1' });
    expect(fresh.id).not.toBe(first.id);
  });

  it('replays stored errors (500) but not validation failures (400)', async () => {
    const e1 = await failure(stripe.prices.create({ currency: 'usd', product: 'p' }, { idempotencyKey: 'key-500' }));
    const calls = fake.countOf('prices.create');
    const e2 = await failure(stripe.prices.create({ currency: 'usd', product: 'p' }, { idempotencyKey: 'key-500' }));
    expect(e2.statusCode).toBe(500);
    expect(e2.headers!['idempotent-replayed']).toBe('true');
    expect(e1.statusCode).toBe(500);
    expect(fake.countOf('prices.create')).toBe(calls);

    const v1 = await failure(stripe.billing.meterEvents.create({ event_name: 'dup', payload: {} }, { idempotencyKey: 'key-400' }));
    expect(v1).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    const before = fake.countOf('meter_events.create');
    await stripe.billing.meterEvents.create({ event_name: 'dup', payload: {} }, { idempotencyKey: 'key-400' }).catch(() => undefined);
    expect(fake.countOf('meter_events.create')).toBe(before + 1);
  });

  it('answers 409 for a key whose first request is still running', async () => {
    const a = stripe.products.create({ name: 'slow' }, { idempotencyKey: 'key-slow' });
    await new Promise((r) => setTimeout(r, 100));
    const b = await failure(stripe.products.create({ name: 'slow' }, { idempotencyKey: 'key-slow' }));
    expect(b).toMatchObject({ statusCode: 409, code: 'idempotency_key_in_use' });
    const first = await a;
    const again = await stripe.products.create({ name: 'slow' }, { idempotencyKey: 'key-slow' });
    expect(again.id).toBe(first.id);
  });

  it("hands a meter event's key to ingestion, which claims it with the event, instead of claiming it here", async () => {
    await stripe.billing.meterEvents.create({ event_name: 'keyed', payload: { a: '1' } }, { idempotencyKey: 'key-svc' });
    const req = fake.lastOf('meter_events.create')!;
    expect(req.idempotency).toMatchObject({ key: 'key-svc', method: 'POST', path: '/v1/billing/meter_events' });
    expect(req.idempotency!.paramsHash).not.toBe('');
    const replay = await stripe.billing.meterEvents.create({ event_name: 'replayed', payload: {} }, { idempotencyKey: 'key-svc-2' });
    expect(replay.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(replay.identifier).toBe('first');
    // Other routes still claim in the gateway: its store never sees these keys.
    await new Promise((r) => setTimeout(r, 200));
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { rows } = await c.query(`SELECT key FROM gateway.idempotency_keys WHERE key LIKE 'key-svc%'`);
      expect(rows).toEqual([]);
    } finally {
      await c.end();
    }
  });

  it('stores idempotency records in the gateway schema', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { rows } = await c.query(`SELECT status, response FROM gateway.idempotency_keys WHERE key = 'key-1'`);
      expect(rows).toHaveLength(2); // one per API key
      expect(rows.map((r) => r.status)).toEqual([200, 200]);
    } finally {
      await c.end();
    }
  });

  it('treats a key older than 24 hours as new', async () => {
    const first = await stripe.customers.create({ name: 'Old' }, { idempotencyKey: 'key-old' });
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(`UPDATE gateway.idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'key-old'`);
    } finally {
      await c.end();
    }
    const again = await stripe.customers.create({ name: 'Old' }, { idempotencyKey: 'key-old' });
    expect(again.id).not.toBe(first.id);
    expect(again.lastResponse.headers['idempotent-replayed']).toBeUndefined();
  });

  it('runs again when the first request with the key never finished', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { rows } = await c.query(`SELECT scope FROM gateway.idempotency_keys WHERE key = 'key-1' LIMIT 1`);
      // A claim left behind by a gateway that died mid-request, 10 minutes ago.
      await c.query(
        `INSERT INTO gateway.idempotency_keys (scope, key, method, path, params_hash, created_at)
         VALUES ($1, 'key-dead', 'POST', '/v1/customers', $2, now() - interval '10 minutes')`,
        [rows[0].scope, requestHash('POST', '/v1/customers', 'name=Lazarus')],
      );
    } finally {
      await c.end();
    }
    const fresh = await stripe.customers.create({ name: 'Lazarus' }, { idempotencyKey: 'key-dead' });
    expect(fresh.object).toBe('customer');
  });

  it('the same key sent twice at once runs once', async () => {
    const send = () =>
      raw('/v1/customers', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': 'key-twin' },
        body: 'name=Twin',
      });
    const [a, b] = await Promise.all([send(), send()]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const conflict = a.status === 409 ? a : b;
    expect(((await conflict.json()) as { error: { code: string } }).error.code).toBe('idempotency_key_in_use');
  });

  it('prunes records older than 24 hours, in chunks', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      await c.query(
        `INSERT INTO gateway.idempotency_keys (scope, key, method, path, params_hash, status, response, created_at)
         SELECT 'old', 'k' || g, 'POST', '/v1/customers', 'h', 200, '{}', now() - interval '25 hours'
         FROM generate_series(1, 25) g`,
      );
      const store = gw.app.get<IdempotencyStore>(IDEMPOTENCY_STORE);
      expect(await store.prune(new Date(Date.now() - 24 * 3600_000), 10)).toBe(25);
      const { rows } = await c.query(`SELECT count(*)::int AS n FROM gateway.idempotency_keys WHERE key = 'key-1'`);
      expect(rows[0].n).toBe(2); // recent records stay
    } finally {
      await c.end();
    }
  });

  it('runs claims, completions and releases of one cycle together, claims of a key it also writes after', async () => {
    const store = gw.app.get<IdempotencyStore>(IDEMPOTENCY_STORE);
    const claim = (key: string, paramsHash = 'h') =>
      store.claim({ scope: 'cycle', key, method: 'POST', path: '/v1/customers', paramsHash });
    expect(await Promise.all([claim('c-done'), claim('c-gone'), claim('c-kept')])).toEqual([
      { claimed: true },
      { claimed: true },
      { claimed: true },
    ]);
    // One tick, so one batch: a completion and a release, each with a claim of the same key, a
    // claim of a key in flight, the same new key twice, and a new key.
    const [, , replay, reclaimed, inUse, twinA, twinB, fresh] = await Promise.all([
      store.complete('cycle', 'c-done', 200, '{"id":"cus_1"}'),
      store.release('cycle', 'c-gone'),
      claim('c-done'),
      claim('c-gone'),
      claim('c-kept'),
      claim('c-twin'),
      claim('c-twin'),
      claim('c-new'),
    ]);
    expect(replay).toMatchObject({ claimed: false, stored: { status: 200, body: '{"id":"cus_1"}', paramsHash: 'h' } });
    expect(reclaimed).toEqual({ claimed: true });
    expect(inUse).toMatchObject({ claimed: false, stored: { status: null, body: null } });
    expect(twinA).toEqual({ claimed: true });
    expect(twinB).toMatchObject({ claimed: false, stored: { status: null } });
    expect(fresh).toEqual({ claimed: true });
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { rows } = await c.query(`SELECT key, status, response FROM gateway.idempotency_keys WHERE scope = 'cycle' ORDER BY key`);
      expect(rows).toEqual([
        { key: 'c-done', status: 200, response: '{"id":"cus_1"}' },
        { key: 'c-gone', status: null, response: null },
        { key: 'c-kept', status: null, response: null },
        { key: 'c-new', status: null, response: null },
        { key: 'c-twin', status: null, response: null },
      ]);
    } finally {
      await c.end();
    }
  });

  it('plans the cycle with index joins, and commits asynchronously only when asked', async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 1, options: '-c search_path=gateway' });
    try {
      const store = new PgIdempotencyStore(pool, { asyncCommit: true });
      const claim = { scope: 'async', key: 'a-1', method: 'POST', path: '/v1/customers', paramsHash: 'h' };
      expect(await store.claim(claim)).toEqual({ claimed: true });
      await store.complete('async', 'a-1', 200, '{}');
      expect(await store.claim(claim)).toMatchObject({ claimed: false, stored: { status: 200, body: '{}' } });
      const { rows } = await pool.query(`SELECT current_setting('synchronous_commit') AS sc, current_setting('enable_hashjoin') AS hj`);
      expect(rows[0]).toEqual({ sc: 'off', hj: 'off' });
      const durable = gw.app.get<IdempotencyStore>(IDEMPOTENCY_STORE);
      await durable.claim({ ...claim, scope: 'durable' });
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        const n = await c.query(`SELECT count(*)::int AS n FROM gateway.idempotency_keys WHERE scope IN ('async', 'durable')`);
        expect(n.rows[0].n).toBe(2);
      } finally {
        await c.end();
      }
    } finally {
      await pool.end();
    }
  });

  it('counts API requests by op and status on /metrics', async () => {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).toMatch(/meterflow_gateway_request_duration_seconds_count\{op="customers.create",status="200"\} \d+/);
  });

  it('paginates with autoPagingToArray, forwards and backwards', async () => {
    for (let i = 0; i < 7; i++) await stripe.customers.create({ name: `page-${i}` });
    const all = await stripe.customers.list({ limit: 3 }).autoPagingToArray({ limit: 1000 });
    const ids = [...fake.objects.values()].filter((o) => o.object === 'customer').map((o) => o.id as string);
    expect(all.map((c) => c.id)).toEqual([...ids].sort().reverse());
    const oldest = all.at(-1)!.id;
    const back = await stripe.customers.list({ limit: 2, ending_before: oldest }).autoPagingToArray({ limit: 1000 });
    expect(back.map((c) => c.id)).toEqual([...ids].sort().slice(1));
  });

  it('expands ids into objects, in lists and through dotted paths', async () => {
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: 1_700_000_000 });
    const customer = await stripe.customers.create({ name: 'Exp', test_clock: clock.id });
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: 'p' }], expand: ['customer.test_clock'] });
    expect(sub.customer).toMatchObject({ id: customer.id, object: 'customer', test_clock: { id: clock.id, frozen_time: 1_700_000_000 } });

    const list = await stripe.customers.list({ limit: 2, expand: ['data.test_clock'] });
    expect(list.data[0]!.test_clock).toMatchObject({ id: clock.id, object: 'test_helpers.test_clock' });

    const bad = await failure(stripe.customers.retrieve(customer.id, { expand: ['name'] }));
    expect(bad).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect((bad as Error).message).toBe('This property cannot be expanded (name).');
  });

  it('v2: JSON bodies, session-token auth, v2 error classes', async () => {
    const session = await stripe.v2.billing.meterEventSession.create();
    expect(session.authentication_token).toBe('sess_good');
    await stripe.v2.billing.meterEventStream.create(
      { events: [{ event_name: 'api_calls', payload: { stripe_customer_id: 'cus_1', value: '3' } }] },
      { apiKey: session.authentication_token },
    );
    const req = fake.lastOf('v2.meter_event_stream.create')!;
    expect(req.sessionToken).toBe('sess_good');
    expect(req.params).toEqual({ events: [{ event_name: 'api_calls', payload: { stripe_customer_id: 'cus_1', value: '3' } }] });

    const expired = await failure(
      stripe.v2.billing.meterEventStream.create(
        { events: [{ event_name: 'api_calls', payload: { stripe_customer_id: 'cus_1', value: '3' } }] },
        { apiKey: 'sess_old' },
      ),
    );
    expect(expired).toBeInstanceOf(Stripe.errors.TemporarySessionExpiredError);
    expect(expired).toMatchObject({ statusCode: 401, code: 'billing_meter_event_session_expired' });
  });
});
