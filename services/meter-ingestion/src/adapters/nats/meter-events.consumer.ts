import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { IngestBatch, type NatsNames } from '@meterflow/contracts';
import type { Logger } from '@meterflow/observability';
import type { IngestItem, IngestService } from '../../application/ingest.service.js';
import type { Rejections } from '../../application/ports.js';

export interface ConsumerSettings {
  /** Messages (of up to 100 events) handled together in one validation + write. */
  batchMessages: number;
  /** Batches in flight: the next one is read and validated while the previous one is written. */
  concurrency: number;
}

/**
 * The durable pull consumer on `MF_INGEST`. Messages that arrive while a batch is being
 * written wait in a buffer and form the next batch, so the batch size follows the load.
 * Ack after commit; nak with delay on a transient failure; term + dead letter for a message that
 * can never be read. Generated identifiers derive from the message (publish time, stream
 * sequence, index), so a redelivered message dedupes instead of counting twice.
 */
export class MeterEventsConsumer {
  private messages: ConsumerMessages | undefined;
  private buffer: JsMsg[] = [];
  private working = 0;
  private lastSubmitted: Promise<void> = Promise.resolve();
  private stopped = false;
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: NatsNames,
    private readonly ingest: IngestService,
    private readonly rejections: Rejections,
    private readonly logger: Logger,
    private readonly settings: ConsumerSettings,
  ) {}

  async start(): Promise<void> {
    // MF_INGEST itself is made by service-kit's ensureStreams at boot, like every stream.
    const durable = this.names.durable('meter-ingestion', 'ingest');
    const jsm = await jetstreamManager(this.nc);
    const maxAckPending = Math.max(1000, this.settings.batchMessages * 4);
    try {
      await jsm.consumers.info(this.names.ingestStream, durable);
    } catch {
      await jsm.consumers.add(this.names.ingestStream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: 60_000_000_000,
        max_ack_pending: maxAckPending,
        max_deliver: -1,
      });
    }
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
    await this.messages?.close().catch(() => undefined);
    await this.done;
    while (this.working > 0) await new Promise((r) => setTimeout(r, 20));
  }

  private async work(): Promise<void> {
    this.working++;
    try {
      while (this.buffer.length && !this.stopped) {
        const batch = this.buffer.splice(0, this.settings.batchMessages);
        await this.handle(batch);
      }
    } finally {
      this.working--;
    }
  }

  private async handle(msgs: JsMsg[]): Promise<void> {
    // Take this batch's place in the writer's order before anything is awaited.
    const after = this.lastSubmitted;
    let submitted!: () => void;
    this.lastSubmitted = new Promise((r) => (submitted = r));
    try {
      await this.handleInOrder(msgs, after, submitted);
    } finally {
      submitted();
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
            data: msg.string(),
            reason,
          })),
          [],
          Math.floor(Date.now() / 1000),
        );
      for (const { msg } of unreadable) msg.term('unreadable');
      termed = true;
      if (items.length) await this.ingest.ingest(items, { after, submitted });
      for (const m of readable) m.ack();
    } catch (e) {
      this.logger.warn({ err: e }, 'ingest batch failed; will be redelivered');
      for (const m of readable) m.nak(1_000);
      if (!termed) for (const { msg } of unreadable) msg.nak(1_000);
    }
  }
}
