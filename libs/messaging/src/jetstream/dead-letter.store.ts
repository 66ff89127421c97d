import type pg from 'pg';
import { quoteIdent } from '@meterflow/event-store';

export interface DeadLetterInput {
  consumer: string;
  subject: string;
  messageId?: string | undefined;
  /** Raw payload; stored as UTF-8 text (payloads need not be JSON). */
  data: Uint8Array | string;
  headers?: Record<string, string>;
  reason: string;
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

/** The `dead_letters` table of a service schema: messages a consumer gave up on, and why. */
export class DeadLetterStore {
  private readonly t: string;

  constructor(
    readonly pool: pg.Pool,
    readonly schema: string,
  ) {
    this.t = `${quoteIdent(schema)}.dead_letters`;
  }

  async record(entry: DeadLetterInput): Promise<void> {
    const data = typeof entry.data === 'string' ? entry.data : decoder.decode(entry.data);
    await this.pool.query(
      `INSERT INTO ${this.t} (consumer, subject, message_id, data, headers, reason) VALUES ($1, $2, $3, $4, $5, $6)`,
      // Postgres text cannot hold NUL bytes.
      [
        entry.consumer,
        entry.subject,
        entry.messageId ?? null,
        data.replace(/\u0000/g, ''),
        JSON.stringify(entry.headers ?? {}),
        entry.reason,
      ],
    );
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
