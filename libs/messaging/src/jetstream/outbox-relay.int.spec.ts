import pg from 'pg';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsNames, stripeEvent, type NatsNames } from '@meterflow/contracts';
import { eventStoreMigration, PgEventStore } from '@meterflow/event-store';
import { deleteNamespaceStreams, eventually, openTestInfra, testNamespace, type TestInfra } from '@meterflow/testing';
import { ensureStreams, OutboxRelay } from './index.js';

const SCHEMA = 'rating';
let infra: TestInfra;
let pool: pg.Pool;
let store: PgEventStore;
let nc: NatsConnection;
let jsm: JetStreamManager;
let ns: string;
let names: NatsNames;

beforeAll(async () => {
  infra = await openTestInfra({ poolMax: 12 });
  ({ pool, nc, ns } = infra);
  await pool.query(eventStoreMigration(SCHEMA).sql);
  store = new PgEventStore(pool, SCHEMA);
  jsm = await jetstreamManager(nc);
  names = natsNames(ns);
  await ensureStreams(nc, names, ['rating']);
  await ensureStreams(nc, names, ['rating']); // idempotent
});

afterAll(async () => {
  await infra?.close();
});

const count = async (stream: string): Promise<number> => (await jsm.streams.info(stream)).state.messages;

async function messages(stream: string) {
  const n = (await jsm.streams.info(stream)).state;
  const out = [];
  for (let seq = n.first_seq; seq <= n.last_seq && n.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (m) out.push({ subject: m.subject, msgId: m.header.get('Nats-Msg-Id'), header: m.header, body: m.json<Record<string, any>>() });
  }
  return out;
}

const newRelay = (extra: Partial<ConstructorParameters<typeof OutboxRelay>[0]> = {}) =>
  new OutboxRelay({ pool, schema: SCHEMA, nc, names, service: 'rating', listen: false, ...extra });

describe('OutboxRelay', () => {
  it('publishes every committed event once per msg id, Stripe events on mf.events, and survives a restart', async () => {
    const evt = stripeEvent('evt_test_1', 'billing.meter.created', { id: 'mtr_1', object: 'billing.meter' }, 1_700_000_000);
    const appended = await store.append(
      'mtr_1',
      'no_stream',
      [
        { type: 'MeterCreated', data: { id: 'mtr_1', limit: 5n } },
        { type: evt.type, schemaVersion: evt.schemaVersion, data: evt.data },
        { type: 'MeterRenamed', data: { name: 'calls' } },
      ],
      { correlationId: 'req_1', causationId: 'cmd_1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    );

    const relay = newRelay();
    expect(await relay.drainOnce()).toBe(3);
    expect(await relay.drainOnce()).toBe(0);

    const svc = await messages(names.serviceStream('rating'));
    expect(svc.map((m) => [m.subject, m.msgId])).toEqual([
      [`${ns}.mf.svc.rating.MeterCreated`, appended.stored[0]!.eventId],
      [`${ns}.mf.svc.rating.MeterRenamed`, appended.stored[2]!.eventId],
    ]);
    expect(svc[0]!.body).toMatchObject({
      type: 'MeterCreated',
      schemaVersion: 1,
      data: { id: 'mtr_1', limit: '5' },
      metadata: { streamId: 'mtr_1', correlationId: 'req_1' },
    });
    expect(svc[0]!.header.get('mf-correlation-id')).toBe('req_1');
    expect(svc[0]!.header.get('mf-causation-id')).toBe('cmd_1');
    expect(svc[0]!.header.get('traceparent')).toMatch(/^00-0af7/);
    expect(svc[0]!.header.get('mf-event-type')).toBe('MeterCreated');
    // the body is built from the stored JSON text: exactly the stored data and metadata
    for (const [i, m] of [
      [0, svc[0]!],
      [2, svc[1]!],
    ] as const) {
      const e = appended.stored[i]!;
      expect(m.body).toEqual({
        type: e.type,
        schemaVersion: e.schemaVersion,
        data: JSON.parse(JSON.stringify(e.data, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))),
        metadata: e.metadata,
      });
    }

    const stripe = await messages(names.eventsStream);
    expect(stripe).toHaveLength(1);
    expect(stripe[0]!.subject).toBe(`${ns}.mf.events.billing.meter.created`);
    expect(stripe[0]!.msgId).toBe('evt_test_1');
    expect(stripe[0]!.body).toMatchObject({
      id: 'evt_test_1',
      object: 'event',
      type: 'billing.meter.created',
      data: { object: { id: 'mtr_1' } },
    });
    expect(stripe[0]!.body).toEqual(appended.stored[1]!.data);
    expect(stripe[0]!.header.get('mf-event-type')).toBe(evt.type);
    expect(stripe[0]!.header.get('mf-stripe-created')).toBe('1700000000');
    expect(svc[0]!.header.has('mf-stripe-created')).toBe(false);
    expect(stripe[0]!.header.get('mf-correlation-id')).toBe('req_1');

    // restart: a new relay resumes from the stored cursor
    const restarted = newRelay();
    expect(await restarted.drainOnce()).toBe(0);
    await store.append('mtr_1', 3, [{ type: 'MeterDeactivated', data: {} }]);
    expect(await restarted.drainOnce()).toBe(1);
    expect(await count(names.serviceStream('rating'))).toBe(3);
    expect(await count(names.eventsStream)).toBe(1);
  });

  it('with domainEvents false publishes the Stripe events only, in order, and its cursor passes the domain events', async () => {
    const evts = [1, 2].map((i) =>
      stripeEvent(`evt_only_${i}`, 'billing.meter.updated', { id: 'mtr_only', object: 'billing.meter' }, 1_700_000_000 + i),
    );
    const domain = (n: number) => Array.from({ length: n }, (_, i) => ({ type: 'MeterPinged', data: { i } }));
    // Batches of 3 below: runs of 4 domain events make batches with nothing to publish.
    await store.append('mtr_only', 'no_stream', [
      ...domain(4),
      { type: evts[0]!.type, schemaVersion: evts[0]!.schemaVersion, data: evts[0]!.data },
      ...domain(4),
      { type: evts[1]!.type, schemaVersion: evts[1]!.schemaVersion, data: evts[1]!.data },
      ...domain(4),
    ]);
    const ns4 = testNamespace();
    const names4 = natsNames(ns4);
    await ensureStreams(nc, names4, ['rating']);
    const relay = newRelay({ names: names4, cursorName: 'stripe_only', batchSize: 3, domainEvents: false });
    try {
      const stripeIds = (
        await pool.query<{ id: string }>(`SELECT data->>'id' AS id FROM rating.events WHERE type = $1 ORDER BY global_position`, [
          evts[0]!.type,
        ])
      ).rows.map((r) => r.id);
      expect(stripeIds.slice(-2)).toEqual(['evt_only_1', 'evt_only_2']);
      expect(await relay.drainOnce()).toBe(stripeIds.length);
      expect(await count(names4.serviceStream('rating'))).toBe(0);
      expect((await messages(names4.eventsStream)).map((m) => m.msgId)).toEqual(stripeIds);
      const { rows } = await pool.query<{ at: string; max: string }>(
        `SELECT (SELECT global_position::text FROM rating.relay_cursor WHERE name = 'stripe_only') AS at, (SELECT max(global_position)::text FROM rating.events) AS max`,
      );
      expect(rows[0]!.at).toBe(rows[0]!.max);
      expect(await relay.drainOnce()).toBe(0);
    } finally {
      await relay.stop();
      await deleteNamespaceStreams(nc, ns4);
    }
  });

  it('publishes the stored JSON text faithfully (escapes, unicode, numbers, nesting)', async () => {
    const data = {
      s: 'ü "q" \\ \n\t ✓ 𝄞',
      n: [0, -1.5, 1e21, 12345678901234567, 0.1],
      b: true,
      z: null,
      o: { k: { deep: [{}] } },
      big: 2n ** 70n,
    };
    const a = await store.append('faithful', 'no_stream', [{ type: 'Faithful', data }]);
    await newRelay().drainOnce();
    const m = (await messages(names.serviceStream('rating'))).find((x) => x.msgId === a.stored[0]!.eventId)!;
    expect(m.body).toEqual({
      type: 'Faithful',
      schemaVersion: 1,
      data: { ...data, big: (2n ** 70n).toString() },
      metadata: a.stored[0]!.metadata,
    });
    expect(m.header.has('mf-correlation-id')).toBe(false);
    expect(m.header.has('traceparent')).toBe(false);
  });

  it('moves the cursor only once every publish of a batch is acked, and retries the batch', async () => {
    // a namespace with no streams yet: every publish fails (no responders)
    const ns2 = testNamespace();
    const names2 = natsNames(ns2);
    const relay = newRelay({ names: names2, cursorName: 'retry_test', batchSize: 4 });
    const cursor = async () =>
      (await pool.query(`SELECT global_position::text AS p FROM rating.relay_cursor WHERE name = 'retry_test'`)).rows[0]?.p as
        string | undefined;
    try {
      await expect(relay.drainOnce()).rejects.toThrow(/no responders/);
      expect(await cursor()).toBe('0');
      const total = Number((await pool.query('SELECT count(*) AS n FROM rating.events')).rows[0].n);
      await ensureStreams(nc, names2, ['rating']);
      expect(await relay.drainOnce()).toBe(total);
      expect(await count(names2.serviceStream('rating'))).toBeGreaterThan(0);
      expect((await count(names2.serviceStream('rating'))) + (await count(names2.eventsStream))).toBe(total);
    } finally {
      await relay.stop();
      await deleteNamespaceStreams(nc, ns2);
    }
  });

  it('orders by the numeric position, not its text, when positions gain a digit inside one transaction', async () => {
    // (The SELECT returns positions as text; an ORDER BY on the output name sorted "100" before "99",
    // so a batch ending at "101" skipped 95..99 and republished others.)
    const max = Number((await pool.query('SELECT coalesce(max(global_position), 0) AS p FROM rating.events')).rows[0].p);
    const nextPow = 10 ** String(max + 1).length;
    await store.withTransaction(async (tx) => {
      const n = nextPow - max + 25;
      for (let i = 0; i < n; i += 50)
        await store.append(
          `digits-${i}`,
          'no_stream',
          Array.from({ length: Math.min(50, n - i) }, (_, k) => ({ type: 'Digit', data: { i: i + k } })),
          { tx },
        );
    });
    const total = Number((await pool.query('SELECT count(*) AS n FROM rating.events')).rows[0].n);
    const ns3 = testNamespace();
    const names3 = natsNames(ns3);
    await ensureStreams(nc, names3, ['rating']);
    const relay = newRelay({ names: names3, cursorName: 'digits_test', batchSize: 7 });
    try {
      expect(await relay.drainOnce()).toBe(total);
      expect((await count(names3.serviceStream('rating'))) + (await count(names3.eventsStream))).toBe(total);
    } finally {
      await relay.stop();
      await deleteNamespaceStreams(nc, ns3);
    }
  });

  it('never passes a slow transaction that holds a lower position', async () => {
    const relay = newRelay();
    await relay.drainOnce();
    const before = await count(names.serviceStream('rating'));
    const slow = await pool.connect();
    try {
      await slow.query('BEGIN');
      await store.append('slow', 'no_stream', [{ type: 'SlowWritten', data: {} }], { tx: slow }); // lower position, uncommitted
      await store.append('fast', 'no_stream', [{ type: 'FastWritten', data: {} }]); // higher position, committed
      expect(await relay.drainOnce()).toBe(0); // must wait for the older transaction
      await slow.query('COMMIT');
    } finally {
      slow.release();
    }
    expect(await relay.drainOnce()).toBe(2);
    const all = await messages(names.serviceStream('rating'));
    expect(all.slice(before).map((m) => m.body.type)).toEqual(['SlowWritten', 'FastWritten']);
  });

  it('loses no event under concurrent writers while running, woken by NOTIFY', async () => {
    const relay = newRelay({ listen: true, idleMs: 2000, batchSize: 50 });
    await relay.drainOnce();
    const before = await count(names.serviceStream('rating'));
    await relay.start();
    const writers = 8;
    const perWriter = 40;
    const ids: string[] = [];
    try {
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let i = 0; i < perWriter; i += 2) {
            const r = await store.withTransaction(async (tx) => {
              const a = await store.append(`w${w}`, 'any', [{ type: 'Wrote', data: { w, i } }], { tx });
              await new Promise((res) => setTimeout(res, Math.random() * 5));
              const b = await store.append(`w${w}`, 'any', [{ type: 'Wrote', data: { w, i: i + 1 } }], { tx });
              return [...a.stored, ...b.stored];
            });
            ids.push(...r.map((e) => e.eventId));
          }
        }),
      );
      // NOTIFY wakes it well before the 2 s idle poll
      await eventually(
        async () => ((await count(names.serviceStream('rating'))) === before + writers * perWriter ? true : undefined),
        5000,
      );
    } finally {
      await relay.stop();
    }
    const published = (await messages(names.serviceStream('rating'))).slice(before).map((m) => m.msgId);
    expect(new Set(published).size).toBe(writers * perWriter);
    expect(new Set(published)).toEqual(new Set(ids));
  });
});
