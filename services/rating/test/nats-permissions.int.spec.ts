import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { meterflowNatsUsers, natsInboxPrefix, natsNames, renderNatsAuthorization, type ApiRequest } from '@meterflow/contracts';
import { startServiceForTest, type ServiceUnderTest } from '@meterflow/service-kit';
import {
  createTestDatabase,
  eventually,
  startOwnNatsServer,
  testNamespace,
  type OwnNatsServer,
  type TestDatabase,
} from '@meterflow/testing';
import { ratingDefinition } from '../src/rating.definition.js';
import { RatingModule } from '../src/rating.module.js';

/**
 * Least privilege on NATS, against a nats-server configured with the users rendered from
 * contracts' tables (the same text as deploy/compose/nats.conf): rating runs as its own user;
 * a producer publishes meter events but cannot request any internal op; a downstream consumer
 * reads MF_EVENTS through its own durable but can neither publish to MF_INGEST nor take over
 * a service's consumer. Each user reads replies on its own inbox prefix only (`_INBOX_<user>`):
 * none can subscribe to another's replies.
 */
describe('NATS users per role', () => {
  const ns = testNamespace();
  const names = natsNames(ns);
  const password = (user: string) => `pw-${user}-${ns}`;
  let nats: OwnNatsServer;
  let db: TestDatabase;
  let rating: ServiceUnderTest;
  const conns: NatsConnection[] = [];
  const as = async (user: string) => {
    const nc = await connect({ servers: nats.url, user, pass: password(user), inboxPrefix: natsInboxPrefix(user) });
    conns.push(nc);
    return nc;
  };
  const req = (params: Record<string, unknown>): ApiRequest => ({ params, path: {}, requestId: 'r', livemode: false });
  /** Permission violations the server reported to a connection. */
  const violations = (nc: NatsConnection): string[] => {
    const seen: string[] = [];
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'error') seen.push(String((s as { error?: Error }).error?.message ?? s));
    })();
    return seen;
  };

  beforeAll(async () => {
    nats = await startOwnNatsServer({ config: renderNatsAuthorization(meterflowNatsUsers(names, password)) });
    db = await createTestDatabase();
    rating = await startServiceForTest(ratingDefinition, RatingModule, {
      databaseUrl: db.url,
      namespace: ns,
      env: {
        NATS_URL: nats.url,
        NATS_USER: 'rating',
        NATS_PASSWORD: password('rating'),
        RATING_SCHEDULER_INTERVAL_MS: '0',
        RATING_CLOCK_PARTICIPANTS: 'rating',
      },
      // The test calls rating as the gateway does.
      clientAuth: { user: 'gateway', password: password('gateway') },
    });
  }, 60_000);
  afterAll(async () => {
    for (const nc of conns) await nc.close().catch(() => {});
    await rating?.close();
    await nats?.stop();
    await db?.drop();
  });

  it('a service runs as its own user: serves its ops, makes its streams, relays its Stripe events', async () => {
    const customer = await rating.rpc.request<{ id: string }>('rating', 'customers.create', req({ name: 'Least Privilege' }));
    expect(customer.id).toMatch(/^cus_/);
    const jsm = await jetstreamManager(await as('rating'));
    await eventually(async () => ((await jsm.streams.info(names.eventsStream)).state.messages > 0 ? true : undefined), 10_000);
  });

  it('the gateway may send an op batched (one request per line), and the service answers each line', async () => {
    const gw = await as('gateway');
    const seen = violations(gw);
    const lines = [req({ name: 'Batched One' }), req({ name: 'Batched Two' })].map((r) => JSON.stringify(r)).join('\n');
    const reply = await gw.request(names.rpcBatchSubject('rating', 'customers.create'), lines, { timeout: 5_000 });
    const answers = reply
      .string()
      .split('\n')
      .map((l) => JSON.parse(l) as { ok: boolean; result: { id: string; name: string } });
    expect(answers.map((a) => [a.ok, a.result.name])).toEqual([
      [true, 'Batched One'],
      [true, 'Batched Two'],
    ]);
    expect(seen).toEqual([]);
  });

  it('a producer publishes to mf.ingest, and cannot request any mf.rpc subject', async () => {
    const producer = await as('producer');
    const seen = violations(producer);
    const ack = await jetstream(producer).publish(
      names.ingestSubject(),
      JSON.stringify({ events: [{ event_name: 'x', payload: { stripe_customer_id: 'cus_x', value: '1' } }] }),
    );
    expect(ack.stream).toBe(names.ingestStream);

    const before = await rating.rpc.request<{ data: unknown[] }>('rating', 'customers.list', req({ limit: '100' }));
    for (const op of ['customers.create', 'test_clocks.advance', 'billing.rate_periods']) {
      await expect(
        producer.request(names.rpcSubject('rating', op), JSON.stringify(req({ name: 'intruder' })), { timeout: 1_000 }),
      ).rejects.toThrow();
    }
    const after = await rating.rpc.request<{ data: unknown[] }>('rating', 'customers.list', req({ limit: '100' }));
    expect(after.data).toHaveLength(before.data.length);
    await eventually(async () =>
      seen.some((m) => /permissions violation for publish/i.test(m) && m.includes('mf.rpc')) ? true : undefined,
    );
    // Nor read what services say to each other.
    expect(() => producer.subscribe(names.rpcSubject('rating', '>'))).not.toThrow();
    await eventually(async () => (seen.some((m) => /permissions violation for subscription/i.test(m)) ? true : undefined));
  });

  it("each user reads replies on its own inbox prefix: a producer cannot subscribe to another user's", async () => {
    const producer = await as('producer');
    const seen = violations(producer);
    const stolen: string[] = [];
    const theirs = ['_INBOX.>', `${natsInboxPrefix('gateway')}.>`, `${natsInboxPrefix('rating')}.>`, '*.>', '>'];
    for (const subject of theirs) producer.subscribe(subject, { callback: (e, m) => void (e ? undefined : stolen.push(m.subject)) });
    await producer.flush();
    await eventually(async () =>
      seen.filter((m) => /permissions violation for subscription/i.test(m)).length >= theirs.length ? true : undefined,
    );
    // Replies keep flowing to their owners: the gateway's call (answered on _INBOX_gateway.…),
    // rating's own JetStream API calls and publish acks (on _INBOX_rating.…), the producer's acks.
    const customer = await rating.rpc.request<{ id: string }>('rating', 'customers.create', req({ name: 'Inbox Owner' }));
    expect(customer.id).toMatch(/^cus_/);
    const ack = await jetstream(producer).publish(names.ingestSubject(), JSON.stringify({ events: [] }));
    expect(ack.stream).toBe(names.ingestStream);
    await producer.flush();
    expect(stolen).toEqual([]);

    // A producer that keeps nats.js's default _INBOX gets no acks (its reply subscription is refused).
    const defaultInbox = await connect({ servers: nats.url, user: 'producer', pass: password('producer') });
    conns.push(defaultInbox);
    await expect(
      jetstream(defaultInbox).publish(names.ingestSubject(), JSON.stringify({ events: [] }), { timeout: 1_000 }),
    ).rejects.toThrow();
  });

  it('a downstream consumer reads mf.events through its own durable, and cannot publish to mf.ingest', async () => {
    const consumer = await as('consumer');
    const seen = violations(consumer);
    const jsm = await jetstreamManager(consumer);
    await jsm.consumers.add(names.eventsStream, {
      durable_name: 'billing-app',
      ack_policy: AckPolicy.Explicit,
      filter_subject: names.eventsSubjects,
    });
    const c = await jetstream(consumer).consumers.get(names.eventsStream, 'billing-app');
    const m = await c.next({ expires: 5_000 });
    expect(m?.subject).toBe(names.eventSubject('customer.created'));
    m?.ack();

    const ingestBefore = (await jetstreamManager(await as('rating'))).streams.info(names.ingestStream);
    const before = (await ingestBefore).state.messages;
    await expect(jetstream(consumer).publish(names.ingestSubject(), JSON.stringify({ events: [] }), { timeout: 1_000 })).rejects.toThrow();
    await eventually(async () =>
      seen.some((m) => /permissions violation for publish/i.test(m) && m.includes('mf.ingest')) ? true : undefined,
    );
    const after = (await (await jetstreamManager(await as('rating'))).streams.info(names.ingestStream)).state.messages;
    expect(after).toBe(before);
    // A service's consumer is not its own.
    await expect(jsm.consumers.info(names.eventsStream, names.durable('gateway', 'events'))).rejects.toThrow();
  });
});
