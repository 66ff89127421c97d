import { DiscardPolicy, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsNames, type NatsNames } from '@meterflow/contracts';
import { connectTestNats, deleteNamespaceStreams, testNamespace } from '@meterflow/testing';
import { ensureStreams, JetStreamPublishError, JetStreamPublisher } from './index.js';

let nc: NatsConnection;
let jsm: JetStreamManager;
let ns: string;
let names: NatsNames;
let publisher: JetStreamPublisher;

beforeAll(async () => {
  nc = await connectTestNats();
  jsm = await jetstreamManager(nc);
  ns = testNamespace();
  names = natsNames(ns);
  await ensureStreams(nc, names, ['rating']);
  publisher = new JetStreamPublisher(nc, { timeoutMs: 2000 });
});

afterAll(async () => {
  publisher?.close();
  if (nc) {
    await deleteNamespaceStreams(nc, ns);
    await nc.close();
  }
});

const failure = async (p: Promise<unknown>): Promise<JetStreamPublishError> => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(JetStreamPublishError);
  return e as JetStreamPublishError;
};

describe('JetStreamPublisher', () => {
  it('stores a message with its headers and Nats-Msg-Id and returns the ack', async () => {
    const subject = names.serviceEventSubject('rating', 'Published');
    const h = natsHeaders();
    h.set('mf-event-type', 'Published');
    const ack = await publisher.publish(subject, '{"a":1}', { msgId: 'msg-1', headers: h });
    expect(ack).toEqual({ stream: names.serviceStream('rating'), seq: expect.any(Number), duplicate: false });
    const stored = await jsm.streams.getMessage(names.serviceStream('rating'), { seq: ack.seq });
    expect(stored?.subject).toBe(subject);
    expect(stored?.json()).toEqual({ a: 1 });
    expect(stored?.header.get('Nats-Msg-Id')).toBe('msg-1');
    expect(stored?.header.get('mf-event-type')).toBe('Published');
    expect(publisher.inFlight).toBe(0);
  });

  it('reports a repeated Nats-Msg-Id as a duplicate success, storing it once', async () => {
    const subject = names.serviceEventSubject('rating', 'Repeated');
    const before = (await jsm.streams.info(names.serviceStream('rating'))).state.messages;
    const first = await publisher.publish(subject, '{}', { msgId: 'msg-dup' });
    const again = await publisher.publish(subject, '{}', { msgId: 'msg-dup' });
    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({ stream: names.serviceStream('rating'), seq: first.seq, duplicate: true });
    expect((await jsm.streams.info(names.serviceStream('rating'))).state.messages).toBe(before + 1);
  });

  it('matches many concurrent acks to their publishes', async () => {
    const subject = names.serviceEventSubject('rating', 'Many');
    const acks = await Promise.all(
      Array.from({ length: 300 }, (_, i) => publisher.publish(subject, JSON.stringify({ i }), { msgId: `many-${i}` })),
    );
    expect(new Set(acks.map((a) => a.seq)).size).toBe(300);
    for (const [i, a] of acks.entries()) {
      const m = await jsm.streams.getMessage(names.serviceStream('rating'), { seq: a.seq });
      expect(m?.json()).toEqual({ i });
    }
  });

  it('fails a publish to a subject no stream captures (no responders)', async () => {
    const e = await failure(publisher.publish(`${ns}.nowhere.at.all`, '{}', { msgId: 'x' }));
    expect(e.reason).toBe('no_responders');
  });

  it('fails a publish the stream rejects with a JetStream API error', async () => {
    const stream = `${ns.toUpperCase()}_LIMITED`;
    await jsm.streams.add({ name: stream, subjects: [`${ns}.limited.>`], max_msgs: 1, discard: DiscardPolicy.New });
    await publisher.publish(`${ns}.limited.a`, '{}');
    const e = await failure(publisher.publish(`${ns}.limited.b`, '{}'));
    expect(e.reason).toBe('api_error');
    expect(e.errCode).toBeGreaterThan(0);
    expect(e.message).toMatch(/maximum messages/i);
  });

  it('fails a publish nobody acks once its timeout has passed', async () => {
    const silent = nc.subscribe(`${ns}.silent`); // receives, never answers: no 503 either
    const quick = new JetStreamPublisher(nc, { timeoutMs: 300 });
    try {
      const started = Date.now();
      const e = await failure(quick.publish(`${ns}.silent`, '{}'));
      expect(e.reason).toBe('timeout');
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(quick.inFlight).toBe(0);
    } finally {
      quick.close();
      silent.unsubscribe();
    }
  });

  it('close() rejects every pending publish, and later ones', async () => {
    const silent = nc.subscribe(`${ns}.silent2`);
    const p = new JetStreamPublisher(nc, { timeoutMs: 60_000 });
    try {
      const pending = [p.publish(`${ns}.silent2`, '1'), p.publish(`${ns}.silent2`, '2')];
      await nc.flush();
      expect(p.inFlight).toBe(2);
      p.close();
      for (const e of await Promise.all(pending.map(failure))) expect(e.reason).toBe('closed');
      expect((await failure(p.publish(names.serviceEventSubject('rating', 'Late'), '{}'))).reason).toBe('closed');
    } finally {
      p.close();
      silent.unsubscribe();
    }
  });
});
