import pg from 'pg';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsNames, type NatsNames } from '@meterflow/contracts';
import { eventStoreMigration, PgEventStore } from '@meterflow/event-store';
import { DomainError } from '@meterflow/kernel';
import { metricValue } from '@meterflow/observability';
import { eventually, openTestInfra, type TestInfra } from '@meterflow/testing';
import { headersWithTrace } from '../rpc/index.js';
import { DeadLetterStore, ensureStreams, startDurableConsumer, withInbox, type InboundMessage } from './index.js';

const SCHEMA = 'meter_ingestion';
let infra: TestInfra;
let pool: pg.Pool;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let ns: string;
let names: NatsNames;
let deadLetters: DeadLetterStore;

beforeAll(async () => {
  infra = await openTestInfra({ poolMax: 8 });
  ({ pool, nc, ns } = infra);
  await pool.query(eventStoreMigration(SCHEMA).sql);
  await pool.query(`CREATE TABLE ${SCHEMA}.effects (message_id text, delivery int)`);
  deadLetters = new DeadLetterStore(pool, SCHEMA);
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  names = natsNames(ns);
  await ensureStreams(nc, names);
});

afterAll(async () => {
  await infra?.close();
});

const publish = (subject: string, body: unknown, msgID: string) =>
  js.publish(subject, new TextEncoder().encode(JSON.stringify(body)), { msgID });

const settled = (durable: string) =>
  eventually(async () => {
    const ci = await jsm.consumers.info(names.ingestStream, durable);
    return ci.num_pending === 0 && ci.num_ack_pending === 0 ? ci : undefined;
  }, 15_000);

describe('startDurableConsumer', () => {
  it('handles each message in its chain: facts written and requests sent carry its correlation and causation ids', async () => {
    const subject = names.ingestSubject('chain');
    const durable = names.durable('meter-ingestion', 'chain');
    const store = new PgEventStore(pool, SCHEMA);
    const sent: Record<string, string>[] = [];
    const consumer = await startDurableConsumer({
      nc,
      stream: names.ingestStream,
      durable,
      filterSubject: subject,
      handle: async (msg) => {
        const { n } = msg.json<{ n: number }>();
        await store.append(`chain-${n}`, 'no_stream', [{ type: 'Handled', data: { n } }]);
        const h = headersWithTrace();
        sent.push(Object.fromEntries(h.keys().map((k) => [k, h.get(k)])));
        return { kind: 'ack' };
      },
    });
    try {
      await js.publish(subject, JSON.stringify({ n: 1 }), {
        msgID: 'evt_first',
        headers: headersWithTrace({ 'mf-correlation-id': 'req_origin' }),
      });
      await publish(subject, { n: 2 }, 'evt_second');
      await settled(durable);
      const meta = async (id: string) => (await store.readStream(id))[0]!.metadata;
      expect(await meta('chain-1')).toMatchObject({ correlationId: 'req_origin', causationId: 'evt_first' });
      // The first message of a chain starts it.
      expect(await meta('chain-2')).toMatchObject({ correlationId: 'evt_second', causationId: 'evt_second' });
      expect(sent).toContainEqual({ 'mf-correlation-id': 'req_origin', 'mf-causation-id': 'evt_first' });
      expect(sent).toContainEqual({ 'mf-correlation-id': 'evt_second', 'mf-causation-id': 'evt_second' });
    } finally {
      await consumer.stop();
    }
  });

  it('acks, naks with backoff, terms and dead-letters with a reason', async () => {
    const subject = names.ingestSubject('outcomes');
    const durable = names.durable('meter-ingestion', 'outcomes');
    const seen: Record<string, number[]> = {};
    const counted = (reason: string) => metricValue('meterflow_dead_letters_total', { service: SCHEMA, reason }).then((v) => v ?? 0);
    const before = { retries: await counted('retries_exhausted'), rejected: await counted('rejected') };
    const consumer = await startDurableConsumer({
      nc,
      stream: names.ingestStream,
      durable,
      filterSubject: subject,
      maxDeliver: 3,
      backoffMs: () => 20,
      deadLetters,
      concurrency: 4,
      handle: async (msg: InboundMessage) => {
        const { kind } = msg.json<{ kind: string }>();
        (seen[kind] ??= []).push(msg.deliveryCount);
        switch (kind) {
          case 'ok':
            return { kind: 'ack' };
          case 'domain':
            throw new DomainError('meter_event_invalid', 'No active meter for event_name calls');
          case 'flaky':
            if (msg.deliveryCount < 3) throw new Error('database briefly unavailable');
            return { kind: 'ack' };
          case 'poison':
            throw new Error('always broken');
          case 'refused':
            return { kind: 'term', reason: 'malformed batch' };
          case 'later':
            return msg.deliveryCount === 1 ? { kind: 'nak', delayMs: 10 } : { kind: 'ack' };
          default:
            return { kind: 'ack' };
        }
      },
    });
    try {
      for (const kind of ['ok', 'domain', 'flaky', 'poison', 'refused', 'later']) await publish(subject, { kind }, `m-${kind}`);
      await eventually(async () => ((await deadLetters.list({ consumer: durable, limit: 10 })).length === 3 ? true : undefined));
      await settled(durable).catch(async (e) => {
        console.log(JSON.stringify(seen), await jsm.consumers.info(names.ingestStream, durable));
        throw e;
      });
    } finally {
      await consumer.stop();
    }
    expect(seen).toEqual({ ok: [1], domain: [1], flaky: [1, 2, 3], poison: [1, 2, 3], refused: [1], later: [1, 2] });
    const letters = await deadLetters.list({ consumer: durable, limit: 10 });
    const byId = Object.fromEntries(letters.map((l) => [l.messageId, l]));
    expect(byId['m-domain']).toMatchObject({ subject, reason: 'No active meter for event_name calls', data: '{"kind":"domain"}' });
    expect(byId['m-domain']!.headers['Nats-Msg-Id']).toBe('m-domain');
    expect(byId['m-poison']!.reason).toMatch(/gave up after 3 failed attempts: always broken/);
    expect(byId['m-refused']!.reason).toBe('malformed batch');
    // meterflow_dead_letters_total: one poison message out of retries, two refused by the handler.
    expect((await counted('retries_exhausted')) - before.retries).toBe(1);
    expect((await counted('rejected')) - before.rejected).toBe(2);
  });

  it('samples its lag (JetStream num_pending) into meterflow_consumer_pending_messages, and drops the series when stopped', async () => {
    const subject = names.ingestSubject('lag');
    const durable = names.durable('meter-ingestion', 'lag');
    const labels = { service: 'lag-test', stream: names.ingestStream, consumer: durable };
    const pending = () => metricValue('meterflow_consumer_pending_messages', labels);
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const consumer = await startDurableConsumer({
      nc,
      stream: names.ingestStream,
      durable,
      filterSubject: subject,
      service: 'lag-test',
      concurrency: 1,
      batch: 1,
      handle: async () => {
        await gate;
        return { kind: 'ack' };
      },
    });
    try {
      for (let i = 0; i < 20; i++) await publish(subject, { i }, `lag-${i}`);
      await consumer.sampleLag();
      // One message in the handler, at most a pull's worth delivered: the rest is lag.
      expect(await pending()).toBeGreaterThanOrEqual(15);
      open();
      await settled(durable);
      await consumer.sampleLag();
      expect(await pending()).toBe(0);
    } finally {
      open();
      await consumer.stop();
    }
    expect(await pending()).toBeUndefined();
  });

  it('an outage uses up no attempts; a dead letter Postgres refuses is kept in MF_DEAD_LETTERS', async () => {
    const subject = names.ingestSubject('outage');
    const durable = names.durable('meter-ingestion', 'outage');
    // A schema without a dead_letters table: every INSERT fails, as one holding NUL once did.
    const refusing = new DeadLetterStore(pool, 'no_such_schema', { nc, subject: names.deadLetterSubject('meter-ingestion') });
    const seen: Record<string, number[]> = {};
    const consumer = await startDurableConsumer({
      nc,
      stream: names.ingestStream,
      durable,
      filterSubject: subject,
      maxDeliver: 2,
      backoffMs: () => 20,
      deadLetters: refusing,
      handle: async (msg: InboundMessage) => {
        const { kind } = msg.json<{ kind: string }>();
        (seen[kind] ??= []).push(msg.deliveryCount);
        if (kind === 'outage' && msg.deliveryCount <= 4)
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        if (kind === 'poison') throw new Error('always broken \u0000');
        return { kind: 'ack' };
      },
    });
    try {
      await publish(subject, { kind: 'outage' }, 'o-outage');
      await publish(subject, { kind: 'poison', text: 'a\u0000b' }, 'o-poison');
      await settled(durable);
    } finally {
      await consumer.stop();
    }
    expect(seen.outage).toEqual([1, 2, 3, 4, 5]);
    expect(seen.poison).toEqual([1, 2]);
    const kept = await jsm.streams.getMessage(names.deadLetterStream, { last_by_subj: names.deadLetterSubject('meter-ingestion') });
    expect(kept!.json()).toEqual({ kind: 'poison', text: 'a\u0000b' });
    expect(kept!.header.get('mf-dead-letter-reason')).toMatch(/gave up after 2 failed attempts: always broken \\u0000/);
    expect(kept!.header.get('mf-dead-letter-consumer')).toBe(durable);
  });

  it('keeps every distinct dead letter in MF_DEAD_LETTERS, even two sharing a Nats-Msg-Id, and each once', async () => {
    // A stream whose duplicate window is short, so that it holds two messages with one
    // Nats-Msg-Id (as MF_INGEST does when a producer reuses an id after its window, or a replay).
    const stream = `${ns.toUpperCase()}_DL_SOURCE`;
    const subject = `${ns}.dlsource.x`;
    await jsm.streams.add({ name: stream, subjects: [`${ns}.dlsource.>`], duplicate_window: 100_000_000 /* 100 ms */ });
    await publish(subject, { n: 1 }, 'reused-id');
    await eventually(async () => ((await publish(subject, { n: 2 }, 'reused-id')).duplicate ? undefined : true), 5_000);
    const dlSubject = names.deadLetterSubject('credit-ledger');
    const kept = async () =>
      (await jsm.streams.info(names.deadLetterStream, { subjects_filter: dlSubject })).state.subjects?.[dlSubject] ?? 0;
    const refusing = new DeadLetterStore(pool, 'no_such_schema', { nc, subject: dlSubject });
    const durable = names.durable('credit-ledger', 'dl_identity');
    const consumer = await startDurableConsumer({
      nc,
      stream,
      durable,
      filterSubject: subject,
      deadLetters: refusing,
      handle: async () => ({ kind: 'term', reason: 'never valid' }),
    });
    try {
      await eventually(async () => {
        const ci = await jsm.consumers.info(stream, durable);
        return ci.num_pending === 0 && ci.num_ack_pending === 0 ? ci : undefined;
      }, 15_000);
    } finally {
      await consumer.stop();
    }
    // Two messages, two dead letters (before: both `dl:<consumer>:reused-id`, the second dropped).
    expect(await kept()).toBe(2);
    // The two may be recorded in either order (the consumer handles a batch's messages concurrently).
    const letters: NonNullable<Awaited<ReturnType<JetStreamManager['streams']['getMessage']>>>[] = [];
    const { state } = await jsm.streams.info(names.deadLetterStream);
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(names.deadLetterStream, { seq }).catch(() => null);
      if (m?.subject === dlSubject) letters.push(m);
    }
    expect(letters.map((m) => m.json<{ n: number }>().n).sort()).toEqual([1, 2]);
    const last = letters.find((m) => m.json<{ n: number }>().n === 2);
    expect(last!.header.get('mf-dead-letter-message-id')).toBe('reused-id');
    expect(last!.header.get('Nats-Msg-Id')).toMatch(new RegExp(`^dl:${durable}:${stream}:2:\\d+$`));

    // The same dead letter again (its message redelivered after a crash and given up on again,
    // or our publish retried after a lost ack): kept once. A letter without a source is never deduplicated.
    const again = {
      consumer: durable,
      subject,
      messageId: 'reused-id',
      data: JSON.stringify({ n: 2 }),
      reason: 'never valid',
      source: { stream, sequence: 2, timestampNanos: last!.header.get('Nats-Msg-Id').split(':').at(-1)! },
    };
    expect(await refusing.record(again)).toBe('jetstream');
    expect(await kept()).toBe(2);
    const { source: _, ...sourceless } = again;
    await refusing.record(sourceless);
    await refusing.record(sourceless);
    expect(await kept()).toBe(4);
  });

  it('makes redelivery harmless with the inbox', async () => {
    const subject = names.ingestSubject('inbox');
    const durable = names.durable('meter-ingestion', 'inbox');
    const duplicates: string[] = [];
    const consumer = await startDurableConsumer({
      nc,
      stream: names.ingestStream,
      durable,
      filterSubject: subject,
      backoffMs: () => 20,
      handle: async (msg) => {
        const r = await withInbox(pool, SCHEMA, durable, msg.messageId!, async (tx) => {
          await tx.query(`INSERT INTO ${SCHEMA}.effects VALUES ($1, $2)`, [msg.messageId, msg.deliveryCount]);
        });
        if (r.duplicate) duplicates.push(msg.messageId!);
        // the effect committed but the ack is "lost" on first delivery: the message comes back
        return msg.deliveryCount === 1 ? { kind: 'nak', delayMs: 10 } : { kind: 'ack' };
      },
    });
    try {
      for (let i = 0; i < 5; i++) await publish(subject, { i }, `inbox-${i}`);
      await publish(subject, { i: 0 }, 'inbox-0'); // a producer retry, deduplicated by JetStream
      await eventually(async () => (duplicates.length === 5 ? true : undefined));
      await settled(durable);
    } finally {
      await consumer.stop();
    }
    const effects = await pool.query(`SELECT message_id, delivery FROM ${SCHEMA}.effects ORDER BY message_id`);
    expect(effects.rows).toEqual([0, 1, 2, 3, 4].map((i) => ({ message_id: `inbox-${i}`, delivery: 1 })));
    expect(new Set(duplicates)).toEqual(new Set([0, 1, 2, 3, 4].map((i) => `inbox-${i}`)));
  });

  it('is idempotent to start again on the same durable and resumes where it left off', async () => {
    const subject = names.ingestSubject('resume');
    const durable = names.durable('meter-ingestion', 'resume');
    const got: number[] = [];
    const start = (concurrency = 16) =>
      startDurableConsumer({
        nc,
        stream: names.ingestStream,
        durable,
        filterSubject: subject,
        concurrency,
        handle: async (m) => (got.push(m.json<{ i: number }>().i), { kind: 'ack' }),
      });
    const first = await start();
    await publish(subject, { i: 1 }, 'resume-1');
    await eventually(async () => (got.length === 1 ? true : undefined));
    await first.stop();
    await publish(subject, { i: 2 }, 'resume-2');
    const second = await start(32); // a changed tunable is updated in place
    try {
      await eventually(async () => (got.length === 2 ? true : undefined));
      expect((await jsm.consumers.info(names.ingestStream, durable)).config.max_ack_pending).toBe(128);
    } finally {
      await second.stop();
    }
    expect(got).toEqual([1, 2]);
  });

  it('switches an existing durable to headers only in place, where it left off', async () => {
    const subject = names.ingestSubject('headers_only');
    const durable = names.durable('meter-ingestion', 'headers_only');
    const got: { i?: number; size: string | undefined; bytes: number; seq: number }[] = [];
    const start = (headersOnly: boolean) =>
      startDurableConsumer({
        nc,
        stream: names.ingestStream,
        durable,
        filterSubject: subject,
        headersOnly,
        handle: async (m) => {
          got.push({
            ...(m.data.length > 0 ? { i: m.json<{ i: number }>().i } : {}),
            size: m.headers['Nats-Msg-Size'],
            bytes: m.data.length,
            seq: m.streamSequence,
          });
          return { kind: 'ack' };
        },
      });
    const first = await start(false);
    const a = await publish(subject, { i: 1 }, 'ho-1');
    await eventually(async () => (got.length === 1 ? true : undefined));
    await first.stop();
    const b = await publish(subject, { i: 2 }, 'ho-2');
    const second = await start(true);
    try {
      await eventually(async () => (got.length === 2 ? true : undefined));
      expect((await jsm.consumers.info(names.ingestStream, durable)).config.headers_only).toBe(true);
    } finally {
      await second.stop();
    }
    expect(got).toEqual([
      { i: 1, size: undefined, bytes: 7, seq: a.seq },
      { size: '7', bytes: 0, seq: b.seq },
    ]);
  });

  it("keeps a slow handler's message from being redelivered after ack_wait", async () => {
    const subject = names.ingestSubject('slow');
    const durable = names.durable('meter-ingestion', 'slow');
    const deliveries: number[] = [];
    const consumer = await startDurableConsumer({
      nc,
      stream: names.ingestStream,
      durable,
      filterSubject: subject,
      ackWaitMs: 1000,
      handle: async (m) => {
        deliveries.push(m.deliveryCount);
        await new Promise((r) => setTimeout(r, 2500));
        return { kind: 'ack' };
      },
    });
    try {
      await publish(subject, { slow: true }, 'slow-1');
      await settled(durable);
      await eventually(async () => (deliveries.length > 0 ? true : undefined));
      await new Promise((r) => setTimeout(r, 500));
      await settled(durable);
    } finally {
      await consumer.stop();
    }
    expect(deliveries).toEqual([1]);
  });
});
