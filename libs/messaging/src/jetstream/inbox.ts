import type pg from 'pg';
import { quoteIdent } from '@meterflow/event-store';

export type InboxResult<T> = { duplicate: true } | { duplicate: false; result: T };

/**
 * Exactly-once effects over at-least-once delivery: records (consumer, messageId) in `inbox`
 * and runs `fn` in the same transaction. A message seen before runs nothing. A concurrent
 * duplicate waits on the first one's row lock and then sees it.
 */
export async function withInbox<T>(
  pool: pg.Pool,
  schema: string,
  consumer: string,
  messageId: string,
  fn: (tx: pg.PoolClient) => Promise<T>,
): Promise<InboxResult<T>> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const ins = await client.query(
      `INSERT INTO ${quoteIdent(schema)}.inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [consumer, messageId],
    );
    if (ins.rowCount === 0) {
      await client.query('ROLLBACK');
      return { duplicate: true };
    }
    const result = await fn(client);
    await client.query('COMMIT');
    return { duplicate: false, result };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}
