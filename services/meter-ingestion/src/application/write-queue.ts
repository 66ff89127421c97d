import type { AcceptedMeterEvent } from '../domain/meter-event.validation.js';
import type { EventTimeWindow } from '../domain/meter.types.js';
import { flushEvents, flushSeconds, ingestEvents } from './ingest.metrics.js';
import type { StoredIdempotency } from '@meterflow/stripe-api';
import { idempotencyId, type EventToStore, type KeyedResponse, type UsageWriter } from './ports.js';

/** An event to store, with its request's Idempotency-Key claim when the request had one. */
export type EventToSubmit = AcceptedMeterEvent & { keyed?: KeyedResponse };

/** What became of one submitted event. */
export type WriteOutcome =
  | { kind: 'stored' }
  /** Its identifier was already stored (or came earlier in the batch): not counted again. */
  | { kind: 'duplicate' }
  /** Its key holds a live record: not stored; the record decides the answer. */
  | { kind: 'key_taken'; record: StoredIdempotency }
  /** An earlier event of the same batch has its key: not stored (that request is in flight). */
  | { kind: 'key_in_flight' };

interface Job {
  events: readonly EventToSubmit[];
  resolve: (outcomes: WriteOutcome[]) => void;
  reject: (e: unknown) => void;
}

const STORED: WriteOutcome = { kind: 'stored' };
const DUPLICATE: WriteOutcome = { kind: 'duplicate' };
const IN_FLIGHT: WriteOutcome = { kind: 'key_in_flight' };

/**
 * Every accepted event, from every path, goes through this writer, which groups whatever is
 * waiting into one transaction (one commit for thousands of events, never one per event).
 * Up to `writers` transactions run at once; they lock rows in sorted order, so they never
 * deadlock, and dedupe stays exact (a concurrent insert of the same identifier waits).
 */
export class WriteQueue {
  private queue: Job[] = [];
  private running = 0;
  private scheduled = false;
  private lastSeq = 0n;
  private idle: Promise<void> = Promise.resolve();
  private markIdle: () => void = () => {};

  constructor(
    private readonly store: UsageWriter,
    private readonly windowOf: (meterId: string) => EventTimeWindow | null,
    private readonly maxEvents: number,
    private readonly afterWrite: (stored: readonly EventToStore[]) => Promise<void> = async () => {},
    private readonly writers = 1,
  ) {}

  /** Resolves, per event, true when it was stored and counted, false when it was a duplicate. */
  async submit(events: readonly AcceptedMeterEvent[]): Promise<boolean[]> {
    return (await this.submitWithOutcomes(events)).map((o) => o.kind === 'stored');
  }

  /** Resolves, per event, what became of it (keyed events claim their key with it). */
  submitWithOutcomes(events: readonly EventToSubmit[]): Promise<WriteOutcome[]> {
    if (events.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ events, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or being written. */
  async flushed(): Promise<void> {
    while (this.running > 0 || this.queue.length > 0) {
      if (this.running > 0) await this.idle;
      else await new Promise((r) => setImmediate(r)); // a writer is about to start
    }
  }

  /**
   * Starts a writer at the end of this turn of the event loop when one is free, so that what
   * arrives in the same turn (the calls of one batched request from the gateway, the messages of
   * one NATS pull) goes out in one transaction: started at once, the first event of a burst took
   * a writer alone and the rest waited for it.
   */
  private schedule(): void {
    if (this.scheduled || this.running >= this.writers) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.queue.length > 0 && this.running < this.writers) void this.drain();
    });
  }

  /** Receipt order, monotonic within the process and roughly across restarts (µs clock). */
  private nextSeq(): bigint {
    const wall = BigInt(Date.now()) * 1000n;
    this.lastSeq = wall > this.lastSeq ? wall : this.lastSeq + 1n;
    return this.lastSeq;
  }

  private async drain(): Promise<void> {
    if (this.running++ === 0) this.idle = new Promise((r) => (this.markIdle = r));
    try {
      while (this.queue.length) {
        const jobs: Job[] = [];
        let n = 0;
        while (this.queue.length && (n === 0 || n + this.queue[0]!.events.length <= this.maxEvents)) {
          const j = this.queue.shift()!;
          jobs.push(j);
          n += j.events.length;
        }
        const receivedAt = Math.floor(Date.now() / 1000);
        const rows: EventToStore[] = [];
        // Per submitted event, its row (undefined: left out, a second event with the same key).
        const rowOf: (EventToStore | undefined)[] = [];
        const keys = new Set<string>();
        for (const j of jobs)
          for (const e of j.events) {
            const id = e.keyed && idempotencyId(e.keyed);
            if (id !== undefined && keys.has(id)) {
              rowOf.push(undefined);
              continue;
            }
            if (id !== undefined) keys.add(id);
            const row = { ...e, seq: this.nextSeq(), receivedAt };
            rows.push(row);
            rowOf.push(row);
          }
        try {
          const stop = flushSeconds.startTimer();
          const { fresh: accepted, taken } = await this.store.write(rows, this.windowOf);
          stop();
          flushEvents.observe(rows.length);
          const seen = new Set<string>();
          let i = 0;
          const stored: EventToStore[] = [];
          for (const j of jobs) {
            const outcomes = j.events.map((): WriteOutcome => {
              const row = rowOf[i++];
              if (!row) return IN_FLIGHT;
              const record = row.keyed && taken.get(idempotencyId(row.keyed));
              if (record) return { kind: 'key_taken', record };
              const fresh = accepted.has(row.identifier) && !seen.has(row.identifier);
              seen.add(row.identifier);
              if (fresh) stored.push(row);
              return fresh ? STORED : DUPLICATE;
            });
            j.resolve(outcomes);
          }
          ingestEvents.inc({ outcome: 'accepted' }, stored.length);
          ingestEvents.inc({ outcome: 'duplicate' }, rows.length - stored.length);
          await this.afterWrite(stored).catch(() => undefined);
        } catch (e) {
          for (const j of jobs) j.reject(e);
        }
      }
    } finally {
      if (--this.running === 0) this.markIdle();
    }
  }
}
