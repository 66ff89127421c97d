import pg from 'pg';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsNames, type NatsNames } from '@meterflow/contracts';
import { eventStoreMigration } from '@meterflow/event-store';
import { eventually, openTestInfra, type TestInfra } from '@meterflow/testing';
import { DeadLetterStore, ensureStreams, startBatchConsumer } from './index.js';

const SCHEMA = 'meter_ingestion';
let infra: TestInfra;
let pool: pg.Pool;
let nc: NatsConnection;
let ns: string;
let names: NatsNames;

beforeAll(async () => {
  infra = await openTestInfra({ poolMax: 4 });
  ({ pool, nc, ns } = infra);
  await pool.query(eventStoreMigration(SCHEMA).sql);
  names = natsNames(ns);
  await ensureStreams(nc, names);
});

afterAll(async () => {
  await infra?.close();
});

const encoder = new TextEncoder();

async function publishMany(subject: string, n: number, prefix: string): Promise<void> {
  const js = jetstream(nc);
  const window = 2000;
  for (let start = 0; start < n; start += window) {
    const acks = [];
    for (let i = start; i < Math.min(n, start + window); i++) {
      acks.push(js.publish(subject, encoder.encode(`{"i":${i}}`), { msgID: `${prefix}-${i}` }));
    }
    await Promise.all(acks);
  }
}

describe('startBatchConsumer', () => {
  it('hands over batches, applies per-message outcomes and dead-letters terms', async () => {
    const subject = names.ingestSubject('batch');
    const durable = names.durable('meter-ingestion', 'batch');
    const deadLetters = new DeadLetterStore(pool, SCHEMA);
    const sizes: number[] = [];
    const acked = new Set<number>();
    await publishMany(subject, 250, 'b');
    const consumer = await startBatchConsumer({
      nc,
      stream: names.ingestStream,
      durable,
      filterSubject: subject,
      maxBatch: 100,
      maxWaitMs: 50,
      deadLetters,
      handleBatch: async (msgs) => {
        sizes.push(msgs.length);
        return msgs.map((m) => {
          const { i } = m.json<{ i: number }>();
          if (i === 7) return { kind: 'term', reason: 'bad event' } as const;
          acked.add(i);
          return { kind: 'ack' } as const;
        });
      },
    });
    try {
      await eventually(async () => (acked.size === 249 ? true : undefined));
      const jsm = await jetstreamManager(nc);
      await eventually(async () => ((await jsm.consumers.info(names.ingestStream, durable)).num_ack_pending === 0 ? true : undefined));
    } finally {
      await consumer.stop();
    }
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(250);
    const letters = await deadLetters.list({ consumer: durable, limit: 5 });
    expect(letters.map((l) => [l.messageId, l.reason])).toEqual([['b-7', 'bad event']]);
  });

  it('consumes 100k small messages with acks (throughput measurement)', async () => {
    const subject = names.ingestSubject('volume');
    const durable = names.durable('meter-ingestion', 'volume');
    const N = 100_000;
    const t0 = performance.now();
    await publishMany(subject, N, 'v');
    const published = performance.now();
    let received = 0;
    const consumer = await startBatchConsumer({
      nc,
      stream: names.ingestStream,
      durable,
      filterSubject: subject,
      maxBatch: 1000,
      maxWaitMs: 20,
      handleBatch: async (msgs) => {
        received += msgs.length;
      },
    });
    try {
      await eventually(async () => (received >= N ? true : undefined), 120_000, 20);
      const consumed = performance.now();
      const jsm = await jetstreamManager(nc);
      await eventually(
        async () => ((await jsm.consumers.info(names.ingestStream, durable)).num_ack_pending === 0 ? true : undefined),
        30_000,
      );
      const allAcked = performance.now();
      console.log(
        `[batch-consumer] publish ${N}: ${Math.round(published - t0)} ms (${Math.round(N / ((published - t0) / 1000))}/s); ` +
          `consume: ${Math.round(consumed - published)} ms (${Math.round(N / ((consumed - published) / 1000))}/s); ` +
          `all acked after ${Math.round(allAcked - published)} ms (${Math.round(N / ((allAcked - published) / 1000))}/s)`,
      );
    } finally {
      await consumer.stop();
    }
    expect(received).toBe(N);
  }, 180_000);
});
