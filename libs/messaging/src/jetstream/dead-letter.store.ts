import type pg from 'pg';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { quoteIdent } from '@meterflow/event-store';
import { storableText } from '@meterflow/kernel';
import { countDeadLetters } from '@meterflow/observability';
import { JetStreamPublisher } from './jetstream-publisher.js';

export interface DeadLetterInput {
  consumer: string;
  subject: string;
  messageId?: string | undefined;
  /** Raw payload; stored as UTF-8 text (payloads need not be JSON). */
  data: Uint8Array | string;
  headers?: Record<string, string>;
  reason: string;
  /**
   * Where the message sits in the stream it was consumed from. With the consumer it identifies
   * the dead letter exactly: a message redelivered and given up on again is the same dead letter,
   * a different message (another stream sequence: a replay, a producer reusing a `Nats-Msg-Id`
   * after the duplicate window) is another one, even with the same `messageId`.
   */
  source?: DeadLetterSource;
}

export interface DeadLetterSource {
  stream: string;
  /** The message's stream sequence. */
  sequence: number;
  /** When the stream stored it (`info.timestampNanos`): tells apart sequences of a stream deleted and made again. */
  timestampNanos?: number | bigint | string;
}

/**
 * The fallback's `Nats-Msg-Id` for a dead letter: `dl:<consumer>:<stream>:<sequence>[:<stored ns>]`,
 * so MF_DEAD_LETTERS' duplicate window drops a second publish of the same dead letter (our
 * retry after a lost ack, or a redelivery given up on again after a crash) and never a different
 * one. Without a source there is no exact identity, and no dedupe: nothing distinct is dropped.
 */
export function deadLetterMsgId(entry: Pick<DeadLetterInput, 'consumer' | 'source'>): string | undefined {
  const s = entry.source;
  if (!s) return undefined;
  return `dl:${entry.consumer}:${s.stream}:${s.sequence}${s.timestampNanos !== undefined ? `:${String(s.timestampNanos)}` : ''}`;
}

export interface DeadLetter {
  id: bigint;
  consumer: string;
  subject: string;
  messageId: string | null;
  data: string;
  headers: Record<string, string>;
  reason: string;
  recordedAt: Date;
}

const decoder = new TextDecoder();

/** Where a dead letter goes when Postgres will not take it: a JetStream stream (MF_DEAD_LETTERS). */
export interface DeadLetterFallback {
  nc: NatsConnection;
  /** `names.deadLetterSubject(service)`. */
  subject: string;
}

/**
 * The `dead_letters` table of a service schema: messages a consumer gave up on, and why.
 * Recording cannot be what blocks a consumer: every text is made storable first, and if
 * Postgres still refuses (or is down) the message goes to the JetStream fallback as sent, with
 * the reason in its headers. Only when both fail does `record` throw (the caller naks).
 * Each one kept counts in `meterflow_dead_letters_total{service,reason}` (`service` defaults to
 * the schema name).
 */
export class DeadLetterStore {
  private readonly t: string;
  private publisher: JetStreamPublisher | undefined;

  constructor(
    readonly pool: pg.Pool,
    readonly schema: string,
    private readonly fallback?: DeadLetterFallback,
    private readonly metrics: { service?: string } = {},
  ) {
    this.t = `${quoteIdent(schema)}.dead_letters`;
  }

  /** Where the entry was kept. */
  async record(entry: DeadLetterInput): Promise<'postgres' | 'jetstream'> {
    let where: 'postgres' | 'jetstream';
    try {
      await this.insert(entry);
      where = 'postgres';
    } catch (e) {
      if (!this.fallback) throw e;
      await this.publishFallback(entry, e);
      where = 'jetstream';
    }
    countDeadLetters(this.metrics.service ?? this.schema, [entry.reason]);
    return where;
  }

  private async insert(entry: DeadLetterInput): Promise<void> {
    const data = typeof entry.data === 'string' ? entry.data : decoder.decode(entry.data);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(entry.headers ?? {})) headers[storableText(k)] = storableText(v);
    await this.pool.query(`INSERT INTO ${this.t} (consumer, subject, message_id, data, headers, reason) VALUES ($1, $2, $3, $4, $5, $6)`, [
      storableText(entry.consumer),
      storableText(entry.subject),
      entry.messageId === undefined ? null : storableText(entry.messageId),
      storableText(data),
      JSON.stringify(headers),
      storableText(entry.reason),
    ]);
  }

  private async publishFallback(entry: DeadLetterInput, cause: unknown): Promise<void> {
    const { nc, subject } = this.fallback!;
    const h = natsHeaders();
    for (const [k, v] of Object.entries(entry.headers ?? {})) if (!/^Nats-/i.test(k)) h.set(k, v.replace(/[\r\n]/g, ' '));
    h.set('mf-dead-letter-consumer', entry.consumer);
    h.set('mf-dead-letter-subject', entry.subject);
    h.set(
      'mf-dead-letter-reason',
      storableText(entry.reason)
        .replace(/[\r\n]/g, ' ')
        .slice(0, 1000),
    );
    h.set(
      'mf-dead-letter-postgres-error',
      storableText(String((cause as Error)?.message ?? cause))
        .replace(/[\r\n]/g, ' ')
        .slice(0, 500),
    );
    // The original message id travels in a header: Nats-Msg-Id is the dead letter's own identity.
    if (entry.messageId) h.set('mf-dead-letter-message-id', entry.messageId.replace(/[\r\n]/g, ' '));
    if (entry.source) {
      h.set('mf-dead-letter-stream', entry.source.stream);
      h.set('mf-dead-letter-sequence', String(entry.source.sequence));
    }
    const msgId = deadLetterMsgId(entry);
    const publisher = (this.publisher ??= new JetStreamPublisher(nc));
    await publisher.publish(subject, entry.data, { headers: h, ...(msgId ? { msgId } : {}) });
  }

  /** Newest first. */
  async list(opts: { consumer?: string; limit: number }): Promise<DeadLetter[]> {
    const params: unknown[] = [opts.limit];
    const where = opts.consumer !== undefined ? (params.push(opts.consumer), 'WHERE consumer = $2') : '';
    const res = await this.pool.query<{
      id: string;
      consumer: string;
      subject: string;
      message_id: string | null;
      data: string;
      headers: Record<string, string>;
      reason: string;
      recorded_at: Date;
    }>(`SELECT * FROM ${this.t} ${where} ORDER BY id DESC LIMIT $1`, params);
    return res.rows.map((r) => ({
      id: BigInt(r.id),
      consumer: r.consumer,
      subject: r.subject,
      messageId: r.message_id,
      data: r.data,
      headers: r.headers,
      reason: r.reason,
      recordedAt: r.recorded_at,
    }));
  }
}
