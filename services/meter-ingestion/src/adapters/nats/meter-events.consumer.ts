import { jetstream, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { IngestBatch, type NatsNames } from '@meterflow/contracts';
import { isDependencyUnavailable, storableText } from '@meterflow/kernel';
import {
  DEFAULT_ACK_WAIT_MS,
  ensureConsumer,
  sampleConsumerLag,
  withBatchSpan,
  type ConsumerLagSampler,
  type DeadLetterStore,
} from '@meterflow/messaging';
import type { Logger } from '@meterflow/observability';
import type { IngestItem, IngestService } from '../../application/ingest.service.js';
import type { Rejections } from '../../application/ports.js';
import { INGEST_CONSUMER } from '../persistence/rejection.recorder.js';

export interface ConsumerSettings {
  /** Messages (of up to 100 events) handled together in one validation + write. */
  batchMessages: number;
  /** Batches in flight: the next one is read and validated while the previous one is written. */
  concurrency: number;
  /** Failed attempts (an outage does not count) before a message is dead-lettered (default 5). */
  maxAttempts?: number;
}

const OUTAGE_RETRY_MS = 1_000;
const backoff = (attempt: number): number => Math.min(500 * 2 ** Math.max(0, attempt - 1), 10_000);

/**
 * The durable pull consumer on `MF_INGEST`. Messages that arrive while a batch is being
 * written wait in a buffer and form the next batch, so the batch size follows the load.
 * Ack after commit; nak with delay on a transient failure; term + dead letter for a message that
 * can never be read. Generated identifiers derive from the message (publish time, stream
 * sequence, index), so a redelivered message dedupes instead of counting twice.
 *
 * A batch that fails while Postgres is reachable is retried one message at a time, with
 * backoff; a message that still fails `maxAttempts` times is terminated and kept as a dead letter
 * (in Postgres, or in MF_DEAD_LETTERS if Postgres refuses it), so no message holds an
 * in-flight slot for ever. A failure because a dependency is down is retried every second and
 * never counted. Every message held (buffered or being written) gets an in-progress ack every
 * half ack-wait, so ack_wait can be short: a crashed consumer's messages return in ~10 s.
 */
export class MeterEventsConsumer {
  private messages: ConsumerMessages | undefined;
  private buffer: JsMsg[] = [];
  private working = 0;
  private lastSubmitted: Promise<void> = Promise.resolve();
  private stopped = false;
  private done: Promise<void> = Promise.resolve();
  /** Failed attempts per stream sequence (outages not counted). */
  private readonly failures = new Map<number, number>();
  private readonly inHand = new Set<JsMsg>();
  private keepAlive: NodeJS.Timeout | undefined;
  private lag: ConsumerLagSampler | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: NatsNames,
    private readonly ingest: IngestService,
    private readonly rejections: Rejections,
    private readonly logger: Logger,
    private readonly settings: ConsumerSettings,
    private readonly lastResort: DeadLetterStore,
  ) {}

  async start(): Promise<void> {
    // MF_INGEST itself is made by service-kit's ensureStreams at boot, like every stream.
    const durable = this.names.durable('meter-ingestion', 'ingest');
    const maxAckPending = Math.max(1000, this.settings.batchMessages * 4);
    await ensureConsumer(this.nc, this.names.ingestStream, { durable, ackWaitMs: DEFAULT_ACK_WAIT_MS, maxAckPending });
    this.keepAlive = setInterval(() => {
      for (const m of this.buffer) m.working();
      for (const m of this.inHand) m.working();
    }, DEFAULT_ACK_WAIT_MS / 2);
    this.keepAlive.unref();
    this.lag = sampleConsumerLag(this.nc, { service: 'meter-ingestion', stream: this.names.ingestStream, consumer: durable });
    const consumer = await jetstream(this.nc).consumers.get(this.names.ingestStream, durable);
    this.messages = await consumer.consume({
      max_messages: Math.min(maxAckPending, this.settings.batchMessages * 2),
      callback: (m) => {
        this.buffer.push(m);
        if (this.working < this.settings.concurrency) this.done = this.work();
      },
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.lag?.stop();
    await this.messages?.close().catch(() => undefined);
    await this.done;
    while (this.working > 0) await new Promise((r) => setTimeout(r, 20));
    clearInterval(this.keepAlive);
  }

  private async work(): Promise<void> {
    this.working++;
    try {
      while (this.buffer.length && !this.stopped) await this.handle(this.nextBatch());
    } finally {
      this.working--;
    }
  }

  /** Up to `batchMessages` messages; a message that failed before goes alone (it may be the poison). */
  private nextBatch(): JsMsg[] {
    if (this.failures.has(this.buffer[0]!.seq)) return this.buffer.splice(0, 1);
    let n = 1;
    while (n < this.buffer.length && n < this.settings.batchMessages && !this.failures.has(this.buffer[n]!.seq)) n++;
    return this.buffer.splice(0, n);
  }

  private async handle(msgs: JsMsg[]): Promise<void> {
    // Take this batch's place in the writer's order before anything is awaited.
    const after = this.lastSubmitted;
    let submitted!: () => void;
    this.lastSubmitted = new Promise((r) => (submitted = r));
    for (const m of msgs) this.inHand.add(m);
    try {
      await withBatchSpan(this.names.ingestStream, 'ingest', msgs, () => this.handleInOrder(msgs, after, submitted));
    } finally {
      submitted();
      for (const m of msgs) this.inHand.delete(m);
    }
  }

  private async handleInOrder(msgs: JsMsg[], after: Promise<void>, submitted: () => void): Promise<void> {
    const items: IngestItem[] = [];
    const unreadable: { msg: JsMsg; reason: string }[] = [];
    const readable: JsMsg[] = [];
    for (const m of msgs) {
      let body: unknown;
      try {
        body = m.json();
      } catch {
        unreadable.push({ msg: m, reason: 'invalid_json: the message body is not JSON' });
        continue;
      }
      // A single event may be published bare (`{event_name, payload, ...}`) instead of `{events:[...]}`.
      const isSingle = !!body && typeof body === 'object' && !Array.isArray(body) && 'event_name' in body && !('events' in body);
      const parsed = IngestBatch.safeParse(isSingle ? { events: [body] } : body);
      if (!parsed.success) {
        unreadable.push({
          msg: m,
          reason: `invalid_batch: expected {"events":[...]} with 1 to 100 events (${parsed.error.issues[0]?.message ?? ''})`,
        });
        continue;
      }
      readable.push(m);
      const base = `mfi_${Math.floor(Number(m.info.timestampNanos) / 1_000_000).toString(36)}_${m.seq.toString(36)}`;
      parsed.data.events.forEach((raw, i) =>
        items.push({ raw, fallbackIdentifier: `${base}_${i}`, subject: m.subject, messageId: m.headers?.get('Nats-Msg-Id') || null }),
      );
    }
    let termed = false;
    try {
      if (unreadable.length)
        await this.rejections.record(
          unreadable.map(({ msg, reason }) => ({
            subject: msg.subject,
            messageId: msg.headers?.get('Nats-Msg-Id') || null,
            data: storableText(msg.string()),
            reason,
          })),
          [],
          Math.floor(Date.now() / 1000),
        );
      for (const { msg } of unreadable) msg.term('unreadable');
      termed = true;
      if (items.length) await this.ingest.ingest(items, { after, submitted });
      for (const m of readable) {
        this.failures.delete(m.seq);
        m.ack();
      }
    } catch (e) {
      const pending = termed ? readable : msgs;
      if (isDependencyUnavailable(e)) {
        this.logger.warn({ err: e }, 'ingest batch failed: a dependency is down; retrying');
        for (const m of pending) m.nak(OUTAGE_RETRY_MS);
        return;
      }
      this.logger.warn({ err: e, messages: pending.length }, 'ingest batch failed; retrying message by message');
      await Promise.all(pending.map((m) => this.failed(m, e)));
    }
  }

  /** One more failed attempt for `m`: retry later, or (alone, out of attempts) dead-letter it. */
  private async failed(m: JsMsg, e: unknown): Promise<void> {
    const attempts = (this.failures.get(m.seq) ?? 0) + 1;
    if (attempts < (this.settings.maxAttempts ?? 5)) {
      if (this.failures.size > 100_000) this.failures.clear();
      this.failures.set(m.seq, attempts);
      m.nak(backoff(attempts));
      return;
    }
    try {
      const where = await this.lastResort.record({
        consumer: INGEST_CONSUMER,
        subject: m.subject,
        messageId: m.headers?.get('Nats-Msg-Id') || undefined,
        data: m.data,
        reason: `gave up after ${attempts} failed attempts: ${(e as Error)?.message ?? String(e)}`,
        source: { stream: m.info.stream, sequence: m.seq, timestampNanos: m.info.timestampNanos },
      });
      this.logger.error({ err: e, seq: m.seq, where }, 'ingest message dead-lettered after repeated failures');
      this.failures.delete(m.seq);
      m.term();
    } catch (err) {
      this.logger.error({ err }, 'ingest message could not be dead-lettered; retrying');
      m.nak(OUTAGE_RETRY_MS);
    }
  }
}
