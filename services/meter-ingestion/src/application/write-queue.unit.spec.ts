import { describe, expect, it } from 'vitest';
import type { StoredIdempotency } from '@meterflow/stripe-api';
import type { AcceptedMeterEvent } from '../domain/meter-event.validation.js';
import { idempotencyId, type EventToStore, type KeyedResponse, type UsageWriter, type WriteResult } from './ports.js';
import { WriteQueue } from './write-queue.js';

/** A writer that keeps what it was given and answers like the store: identifiers new once, keys taken once. */
class RecordingWriter implements UsageWriter {
  readonly batches: EventToStore[][] = [];
  readonly identifiers = new Set<string>();
  readonly keys = new Map<string, StoredIdempotency>();

  async write(events: readonly EventToStore[]): Promise<WriteResult> {
    this.batches.push([...events]);
    await new Promise((r) => setTimeout(r, 5));
    const out: WriteResult = { fresh: new Set(), taken: new Map() };
    for (const e of events) {
      const id = e.keyed && idempotencyId(e.keyed);
      const record = id !== undefined ? this.keys.get(id) : undefined;
      if (record) {
        out.taken.set(id!, record);
        continue;
      }
      if (this.identifiers.has(e.identifier)) continue;
      this.identifiers.add(e.identifier);
      out.fresh.add(e.identifier);
      if (id !== undefined)
        this.keys.set(id, {
          method: e.keyed!.method,
          path: e.keyed!.path,
          paramsHash: e.keyed!.paramsHash,
          status: 200,
          body: e.keyed!.body,
          createdAt: new Date(),
        });
    }
    return out;
  }
}

const ev = (identifier: string): AcceptedMeterEvent => ({
  meterId: 'mtr_1',
  eventName: 'api_calls',
  customer: 'cus_1',
  value: 1n,
  timestamp: 1_800_000_000,
  identifier,
  payload: { stripe_customer_id: 'cus_1' },
});
const claim = (key: string, body = `{"k":"${key}"}`): KeyedResponse => ({
  scope: 's',
  key,
  method: 'POST',
  path: '/v1/billing/meter_events',
  paramsHash: 'h',
  status: 200,
  body,
});

describe('WriteQueue', () => {
  it('writes what is submitted in one turn of the event loop in one transaction', async () => {
    const writer = new RecordingWriter();
    const queue = new WriteQueue(writer, () => null, 1000, undefined, 2);
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => queue.submit([ev(`e-${i}`)])));
    expect(results.flat().every(Boolean)).toBe(true);
    expect(writer.batches.map((b) => b.length)).toEqual([30]);
  });

  it('keeps one event per key in a batch (the others are in flight) and answers a taken key with its record', async () => {
    const writer = new RecordingWriter();
    const queue = new WriteQueue(writer, () => null, 1000, undefined, 2);
    const [a, b, c] = await Promise.all([
      queue.submitWithOutcomes([{ ...ev('k-a'), keyed: claim('k1') }]),
      queue.submitWithOutcomes([{ ...ev('k-b'), keyed: claim('k1') }]),
      queue.submitWithOutcomes([ev('plain')]),
    ]);
    expect([a, b, c]).toEqual([[{ kind: 'stored' }], [{ kind: 'key_in_flight' }], [{ kind: 'stored' }]]);
    expect(writer.batches[0]!.map((e) => e.identifier)).toEqual(['k-a', 'plain']);

    const [again] = await queue.submitWithOutcomes([{ ...ev('k-c'), keyed: claim('k1') }]);
    expect(again).toMatchObject({ kind: 'key_taken', record: { body: '{"k":"k1"}', status: 200 } });
    const [dup] = await queue.submitWithOutcomes([ev('plain')]);
    expect(dup).toEqual({ kind: 'duplicate' });
  });

  it('flushed() waits for a write that has not started yet', async () => {
    const writer = new RecordingWriter();
    const queue = new WriteQueue(writer, () => null, 1000);
    void queue.submit([ev('late')]);
    await queue.flushed();
    expect(writer.identifiers.has('late')).toBe(true);
  });
});
