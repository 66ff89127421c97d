import type { AcceptedMeterEvent } from '../domain/meter-event.validation.js';
import type { EventTimeWindow } from '../domain/meter.types.js';
import { flushEvents, flushSeconds, ingestEvents } from './ingest.metrics.js';
import type { EventToStore, UsageWriter } from './ports.js';

interface Job {
  events: readonly AcceptedMeterEvent[];
  resolve: (fresh: boolean[]) => void;
  reject: (e: unknown) => void;
}

/**
 * Every accepted event, from every path, goes through this writer, which groups whatever is
 * waiting into one transaction (one commit for thousands of events, never one per event).
 * Up to `writers` transactions run at once; they lock rows in sorted order, so they never
 * deadlock, and dedupe stays exact (a concurrent insert of the same identifier waits).
 */
export class WriteQueue {
  private queue: Job[] = [];
  private running = 0;
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
  submit(events: readonly AcceptedMeterEvent[]): Promise<boolean[]> {
    if (events.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.queue.push({ events, resolve, reject });
      if (this.running < this.writers) void this.drain();
    });
  }

  /** Resolves once nothing is queued or being written. */
  async flushed(): Promise<void> {
    while (this.running > 0 || this.queue.length > 0) await this.idle;
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
        for (const j of jobs) for (const e of j.events) rows.push({ ...e, seq: this.nextSeq(), receivedAt });
        try {
          const stop = flushSeconds.startTimer();
          const accepted = await this.store.write(rows, this.windowOf);
          stop();
          flushEvents.observe(rows.length);
          const seen = new Set<string>();
          let i = 0;
          const stored: EventToStore[] = [];
          for (const j of jobs) {
            const flags = j.events.map(() => {
              const row = rows[i++]!;
              const fresh = accepted.has(row.identifier) && !seen.has(row.identifier);
              seen.add(row.identifier);
              if (fresh) stored.push(row);
              return fresh;
            });
            j.resolve(flags);
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
