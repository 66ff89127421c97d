import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { EventBodies } from '../../application/ports.js';

/** Gets in flight at most for one load (a page of the events API is at most 100). */
const CONCURRENCY = 64;

/**
 * The Stripe events' bodies where they were published: MF_EVENTS, read by sequence
 * (`$JS.API.STREAM.MSG.GET`, nats-server 2.9). The gateway keeps only an index of them
 * (`stripe_events`), so each body is stored once, by JetStream, for its 30 days.
 */
export class JetStreamEventBodies implements EventBodies {
  private jsm: Promise<JetStreamManager> | undefined;
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly nc: NatsConnection,
    private readonly stream: string,
  ) {}

  async load(seqs: readonly number[]): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    const todo = [...new Set(seqs)];
    if (todo.length === 0) return out;
    const jsm = await (this.jsm ??= jetstreamManager(this.nc));
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const seq = todo[next++]!;
        // null: the stream no longer holds it (retention, a purge or a limit).
        const m = await jsm.streams.getMessage(this.stream, { seq });
        if (m) out.set(seq, this.decoder.decode(m.data));
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, todo.length) }, worker));
    return out;
  }
}
