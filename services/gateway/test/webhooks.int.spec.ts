import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { HEADERS, natsNames, stripeEvent } from '@meterflow/contracts';
import { newId } from '@meterflow/kernel';
import { startServiceForTest, type ServiceUnderTest } from '@meterflow/service-kit';
import {
  connectTestNats,
  createTestDatabase,
  deleteNamespaceStreams,
  eventually,
  testNamespace,
  type TestDatabase,
} from '@meterflow/testing';
import { gatewayDefinition } from '../src/gateway.definition.js';
import { GatewayModule } from '../src/gateway.module.js';

/**
 * Webhook endpoints, deliveries and the events API, in-process: events are published on the
 * real MF_EVENTS as the services' relays do, and received by real HTTP servers that verify them
 * with the SDK's `stripe.webhooks.constructEvent`.
 */

interface Receiver {
  url: string;
  /** Verified events, in arrival order. */
  received: Stripe.Event[];
  /** Every request (also the failed ones): event id and status answered. */
  hits: { id: string; status: number; at: number }[];
  close(): Promise<void>;
}

const sdk = new Stripe('sk_test_meterflow');

/** A receiver answering `answer(eventId, nth attempt)` (default 200), verifying every body with `secret()`. */
async function receiver(secret: () => string, answer: (id: string, n: number) => number | 'hang' = () => 200): Promise<Receiver> {
  const received: Stripe.Event[] = [];
  const hits: Receiver['hits'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let event: Stripe.Event;
      try {
        event = sdk.webhooks.constructEvent(body, req.headers['stripe-signature'] as string, secret());
      } catch (e) {
        res.writeHead(400).end((e as Error).message);
        return;
      }
      const n = hits.filter((h) => h.id === event.id).length + 1;
      const a = answer(event.id, n);
      if (a === 'hang') return; // never answers: the gateway's timeout ends the attempt
      hits.push({ id: event.id, status: a, at: Date.now() });
      if (a >= 200 && a < 300) received.push(event);
      res.writeHead(a, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    hits,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

let db: TestDatabase;
let gw: ServiceUnderTest;
let nc: NatsConnection;
let stripe: Stripe;
let namespace: string;
const receivers: Receiver[] = [];

beforeAll(async () => {
  db = await createTestDatabase('mf_webhooks');
  namespace = testNamespace();
  nc = await connectTestNats();
  gw = await startServiceForTest(gatewayDefinition, GatewayModule, {
    databaseUrl: db.url,
    namespace,
    env: {
      MF_API_KEYS: 'sk_test_meterflow',
      OTEL_SDK_DISABLED: 'true',
      // A compressed schedule: 300 ms, then 600 ms, ... for 20 s; attempts time out after 1 s.
      MF_WEBHOOK_RETRY_FIRST_MS: '300',
      MF_WEBHOOK_RETRY_WINDOW_MS: '20000',
      MF_WEBHOOK_TIMEOUT_MS: '1000',
      MF_WEBHOOK_POLL_MS: '100',
    },
  });
  const port = Number(new URL(gw.url).port);
  stripe = new Stripe('sk_test_meterflow', { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0, telemetry: false });
});

afterAll(async () => {
  await gw?.close();
  await Promise.all(receivers.map((r) => r.close()));
  if (nc) await deleteNamespaceStreams(nc, namespace);
  await nc?.drain();
  await db?.drop();
});

/**
 * Publish a Stripe event on MF_EVENTS as a relay does (`Nats-Msg-Id` = the event id, its time in
 * `mf-stripe-created`), or, with `relayHeaders: false`, as a publisher that only sets the id.
 */
async function publishAt(
  type: string,
  object: Record<string, unknown>,
  opts: { relayHeaders?: boolean; body?: string } = {},
): Promise<{ id: string; seq: number }> {
  const id = newId('event');
  const created = Math.floor(Date.now() / 1000);
  const e = stripeEvent(id, type, object, created, { requestId: 'req_test' }).data;
  const h = headers();
  if (opts.relayHeaders !== false) h.set(HEADERS.stripeCreated, String(created));
  const ack = await jetstream(nc).publish(natsNames(namespace).eventSubject(type), opts.body ?? JSON.stringify(e), {
    msgID: id,
    headers: h,
  });
  return { id, seq: ack.seq };
}

const publish = async (type: string, object: Record<string, unknown>): Promise<string> => (await publishAt(type, object)).id;

/** One sample of the gateway's `/metrics` (Prometheus text), 0 when the series is absent. */
async function scraped(series: string): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const failure = (p: Promise<unknown>): Promise<Stripe.errors.StripeError> =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e as Stripe.errors.StripeError,
  );

describe('webhook endpoints', () => {
  it('create shows the secret once; retrieve, update (incl. disabled), list and delete as Stripe', async () => {
    const created = await stripe.webhookEndpoints.create({
      url: 'https://example.com/hooks',
      enabled_events: ['invoice.paid', 'invoice.finalized'],
      description: 'billing',
      metadata: { team: 'finance' },
    });
    expect(created).toMatchObject({
      object: 'webhook_endpoint',
      url: 'https://example.com/hooks',
      enabled_events: ['invoice.paid', 'invoice.finalized'],
      description: 'billing',
      metadata: { team: 'finance' },
      status: 'enabled',
      livemode: false,
      api_version: null,
      application: null,
    });
    expect(created.id).toMatch(/^we_/);
    expect(created.secret).toMatch(/^whsec_/);

    const got = await stripe.webhookEndpoints.retrieve(created.id);
    expect(got.secret).toBeUndefined();
    expect(got).toMatchObject({ id: created.id, status: 'enabled' });

    const off = await stripe.webhookEndpoints.update(created.id, { disabled: true, enabled_events: ['*'], metadata: { team: '', x: 'y' } });
    expect(off).toMatchObject({ status: 'disabled', enabled_events: ['*'], metadata: { x: 'y' } });
    const on = await stripe.webhookEndpoints.update(created.id, { disabled: false, description: '' });
    expect(on).toMatchObject({ status: 'enabled', description: null });

    const second = await stripe.webhookEndpoints.create({ url: 'http://10.0.0.7/in', enabled_events: ['*'] });
    const list = await stripe.webhookEndpoints.list({ limit: 1 });
    expect(list.data.map((w) => w.id)).toEqual([second.id]);
    expect(list.has_more).toBe(true);
    const page2 = await stripe.webhookEndpoints.list({ limit: 1, starting_after: second.id });
    expect(page2.data.map((w) => w.id)).toEqual([created.id]);

    expect(await stripe.webhookEndpoints.del(second.id)).toEqual({ id: second.id, object: 'webhook_endpoint', deleted: true });
    expect(await failure(stripe.webhookEndpoints.retrieve(second.id))).toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
      message: `No such webhook endpoint: '${second.id}'`,
    });
    expect(await failure(stripe.webhookEndpoints.del(second.id))).toMatchObject({ statusCode: 404 });
    await stripe.webhookEndpoints.del(created.id);
  });

  it('refuses an invalid URL, a link-local or metadata address, and an unknown event type (400)', async () => {
    for (const url of [
      'not a url',
      'ftp://example.com/x',
      'http://169.254.169.254/latest/meta-data',
      'http://[fe80::1]/x',
      'http://metadata.google.internal/',
    ])
      expect(await failure(stripe.webhookEndpoints.create({ url, enabled_events: ['*'] }))).toMatchObject({
        statusCode: 400,
        type: 'StripeInvalidRequestError',
        code: 'url_invalid',
        param: 'url',
      });
    expect(
      await failure(
        stripe.webhookEndpoints.create({ url: 'https://example.com', enabled_events: ['invoice.paid', 'invoice.nope' as 'invoice.paid'] }),
      ),
    ).toMatchObject({ statusCode: 400, param: 'enabled_events[1]' });
    expect(
      await failure(stripe.webhookEndpoints.create({ url: 'https://example.com' } as Stripe.WebhookEndpointCreateParams)),
    ).toMatchObject({
      statusCode: 400,
      code: 'parameter_missing',
      param: 'enabled_events',
    });
  });
});

describe('deliveries', () => {
  it('signs every subscribed event; retries a failing receiver with backoff; a hanging one delays nobody', async () => {
    const deliveries = (outcome: string) => scraped(`meterflow_webhook_deliveries_total{outcome="${outcome}"}`);
    const before = { succeeded: await deliveries('succeeded'), failed: await deliveries('failed') };
    let okSecret = '';
    let flakySecret = '';
    let deadSecret = '';
    const ok = await receiver(() => okSecret);
    // Fails twice, then answers 200.
    const flaky = await receiver(
      () => flakySecret,
      (_id, n) => (n <= 2 ? 500 : 200),
    );
    const dead = await receiver(
      () => deadSecret,
      () => 'hang',
    );
    receivers.push(ok, flaky, dead);
    okSecret = (await stripe.webhookEndpoints.create({ url: ok.url, enabled_events: ['invoice.paid', 'invoice.finalized'] })).secret!;
    flakySecret = (await stripe.webhookEndpoints.create({ url: flaky.url, enabled_events: ['*'] })).secret!;
    const deadEp = await stripe.webhookEndpoints.create({ url: dead.url, enabled_events: ['*'] });
    deadSecret = deadEp.secret!;

    const started = Date.now();
    const paid = await publish('invoice.paid', { id: 'in_1', object: 'invoice', amount_paid: 2000 });
    const created = await publish('invoice.created', { id: 'in_1', object: 'invoice' });

    // The healthy receiver gets its one event at once, whatever the hanging one does.
    await eventually(async () => (ok.received.length === 1 ? true : undefined), 5000);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(ok.received[0]).toMatchObject({
      id: paid,
      type: 'invoice.paid',
      object: 'event',
      data: { object: { id: 'in_1', amount_paid: 2000 } },
    });
    expect(ok.received[0]!.pending_webhooks).toBeGreaterThanOrEqual(1);

    // The flaky one: two 500s, then each event once more, after backoff.
    await eventually(async () => (flaky.received.length === 2 ? true : undefined), 15_000);
    for (const id of [paid, created]) {
      const hits = flaky.hits.filter((h) => h.id === id);
      expect(hits.map((h) => h.status)).toEqual([500, 500, 200]);
      expect(hits[1]!.at - hits[0]!.at).toBeGreaterThanOrEqual(250);
      expect(hits[2]!.at - hits[1]!.at).toBeGreaterThanOrEqual(500);
    }
    expect(new Set(flaky.received.map((e) => e.id))).toEqual(new Set([paid, created]));

    // The events API: pending_webhooks counts the endpoints not yet served (the hanging one).
    const event = await stripe.events.retrieve(paid);
    expect(event).toMatchObject({ id: paid, type: 'invoice.paid', pending_webhooks: 1 });
    const undelivered = await stripe.events.list({ delivery_success: false });
    expect(undelivered.data.map((e) => e.id).sort()).toEqual([paid, created].sort());

    // Deleting the dead endpoint cancels what it still had pending.
    await stripe.webhookEndpoints.del(deadEp.id);
    expect((await stripe.events.retrieve(paid)).pending_webhooks).toBe(0);
    expect((await stripe.events.list({ delivery_success: true })).data.map((e) => e.id)).toContain(paid);

    // /metrics: 1 + 2 attempts answered 2xx; the flaky receiver's four 500s (and the hanging one's timeouts) failed.
    expect((await deliveries('succeeded')) - before.succeeded).toBe(3);
    expect((await deliveries('failed')) - before.failed).toBeGreaterThanOrEqual(4);
    // The MF_EVENTS consumer reports its lag: everything published has been delivered to it.
    const lag = `meterflow_consumer_pending_messages{service="gateway",stream="${gw.names.eventsStream}",consumer="${gw.names.durable('gateway', 'events')}"}`;
    await eventually(
      async () => ((await fetch(`${gw.url}/metrics`).then((r) => r.text())).includes(`${lag} 0`) ? true : undefined),
      15_000,
    );
  });

  it('a disabled endpoint gets nothing; events list filters by type, types[] and created, and pages', async () => {
    let secret = '';
    const r = await receiver(() => secret);
    receivers.push(r);
    const ep = await stripe.webhookEndpoints.create({ url: r.url, enabled_events: ['customer.created'] });
    secret = ep.secret!;
    await stripe.webhookEndpoints.update(ep.id, { disabled: true });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await publish('customer.created', { id: `cus_${i}`, object: 'customer' }));
    await eventually(async () => ((await stripe.events.list({ type: 'customer.created' })).data.length === 5 ? true : undefined));
    await new Promise((res) => setTimeout(res, 500));
    expect(r.hits).toHaveLength(0);

    const seen: string[] = [];
    for await (const e of stripe.events.list({ type: 'customer.*', limit: 2 })) seen.push(e.id);
    expect(seen).toEqual([...ids].reverse());
    expect((await stripe.events.list({ types: ['customer.created', 'invoice.paid'], limit: 100 })).data.length).toBeGreaterThanOrEqual(6);
    const now = Math.floor(Date.now() / 1000);
    expect((await stripe.events.list({ type: 'customer.created', created: { gt: now + 60 } })).data).toHaveLength(0);
    expect((await stripe.events.list({ type: 'customer.created', created: { lte: now + 60 } })).data).toHaveLength(5);
    expect(await failure(stripe.events.retrieve('evt_nope'))).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });
});

describe('the events index', () => {
  it('keeps the bodies in MF_EVENTS: events by headers or by body, rows stored with their body, bodies gone from the stream', async () => {
    const type = 'product.created';
    const byHeaders = await publishAt(type, { id: 'prod_h', object: 'product' });
    const byBody = await publishAt(type, { id: 'prod_b', object: 'product' }, { relayHeaders: false });
    const notAnEvent = await publishAt(type, { id: 'prod_x', object: 'product' }, { relayHeaders: false, body: '{"object":"product"}' });
    await eventually(async () => ((await stripe.events.list({ type })).data.length === 2 ? true : undefined));
    const listed = await stripe.events.list({ type });
    expect(listed.data.map((e) => [e.id, (e.data.object as { id: string }).id])).toEqual([
      [byBody.id, 'prod_b'],
      [byHeaders.id, 'prod_h'],
    ]);
    expect(await stripe.events.retrieve(byHeaders.id)).toEqual(listed.data[1]);
    expect(await failure(stripe.events.retrieve(notAnEvent.id))).toMatchObject({ statusCode: 404 });

    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const rows = await pool.query<{ id: string; body: string | null; stream_seq: string }>(
        `SELECT id, body, stream_seq::text FROM gateway.stripe_events WHERE id = ANY($1) ORDER BY stream_seq`,
        [[byHeaders.id, byBody.id]],
      );
      expect(rows.rows).toEqual([
        { id: byHeaders.id, body: null, stream_seq: String(byHeaders.seq) },
        { id: byBody.id, body: null, stream_seq: String(byBody.seq) },
      ]);
      // A row from before migration 0005 keeps its body, and is served from it.
      const old = stripeEvent('evt_stored_before', type, { id: 'prod_old', object: 'product' }, 1_700_000_000, { requestId: null }).data;
      await pool.query(`INSERT INTO gateway.stripe_events (id, type, created, body) VALUES ($1, $2, $3, $4)`, [
        old.id,
        type,
        old.created,
        JSON.stringify(old),
      ]);
      expect(await stripe.events.retrieve('evt_stored_before')).toMatchObject({
        id: 'evt_stored_before',
        data: { object: { id: 'prod_old' } },
      });
    } finally {
      await pool.end();
    }

    // The gateway's consumer takes the headers only.
    const jsm = await jetstreamManager(nc);
    const names = natsNames(namespace);
    expect((await jsm.consumers.info(names.eventsStream, names.durable('gateway', 'events'))).config.headers_only).toBe(true);

    // The stream loses a body (a purge, a limit): the event is left out of lists and not found.
    await jsm.streams.deleteMessage(names.eventsStream, byHeaders.seq);
    expect((await stripe.events.list({ type })).data.map((e) => e.id)).toEqual([byBody.id, 'evt_stored_before'].sort().reverse()); // newest id first
    expect(await failure(stripe.events.retrieve(byHeaders.id))).toMatchObject({ statusCode: 404 });
  });
});

describe('a body gone from MF_EVENTS', () => {
  it('fails its pending deliveries for good, with the reason recorded as their attempt', async () => {
    let secret = '';
    const r = await receiver(
      () => secret,
      () => 500,
    );
    receivers.push(r);
    const ep = await stripe.webhookEndpoints.create({ url: r.url, enabled_events: ['invoice.voided'] });
    secret = ep.secret!;
    const e = await publishAt('invoice.voided', { id: 'in_gone', object: 'invoice' });
    await eventually(async () => (r.hits.some((h) => h.id === e.id) ? true : undefined), 5000);
    await (await jetstreamManager(nc)).streams.deleteMessage(natsNames(namespace).eventsStream, e.seq);

    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const attempts = await eventually(async () => {
        const { rows } = await pool.query<{ status: string; attempt: number; status_code: number | null; error: string | null }>(
          `SELECT d.status, a.attempt, a.status_code, a.error
             FROM gateway.webhook_deliveries d JOIN gateway.webhook_attempts a USING (event_id, endpoint_id)
            WHERE d.event_id = $1 AND d.endpoint_id = $2 ORDER BY a.attempt`,
          [e.id, ep.id],
        );
        return rows.at(-1)?.error === 'the event is no longer in MF_EVENTS' ? rows : undefined;
      }, 10_000);
      // Every attempt before the body went was sent (and answered 500); none after.
      const sent = r.hits.filter((h) => h.id === e.id).length;
      expect(attempts.map((a) => [a.status, a.status_code])).toEqual([
        ...Array.from({ length: sent }, () => ['failed', 500]),
        ['failed', null],
      ]);
      await new Promise((res) => setTimeout(res, 1000));
      expect(r.hits.filter((h) => h.id === e.id)).toHaveLength(sent);
    } finally {
      await pool.end();
    }
  });
});

describe('contract documents', () => {
  it('serves the OpenAPI and AsyncAPI documents', async () => {
    const base = gw.url;
    const openapi = (await (await fetch(`${base}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(openapi.openapi).toBe('3.1.0');
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(['/v1/webhook_endpoints', '/v1/events/{id}', '/v1/billing/meter_events']),
    );
    const asyncapi = (await (await fetch(`${base}/asyncapi.json`)).json()) as { asyncapi: string };
    expect(asyncapi.asyncapi).toBe('3.0.0');
  });
});
