import { quoteIdent, type PgEventStore } from '@meterflow/event-store';
import type { HistoryEvent, SubscriptionHistory } from '../../application/ports.js';

/**
 * Subscription streams read straight from the event store's table: many streams in one query,
 * and only the data of the event types asked for (re-rating reads every stream row for existence).
 */
export class PgSubscriptionHistory implements SubscriptionHistory {
  private readonly table: string;

  constructor(private readonly store: PgEventStore) {
    this.table = `${quoteIdent(store.schema)}.events`;
  }

  async events(streamIds: readonly string[], withData: readonly string[]): Promise<HistoryEvent[]> {
    if (streamIds.length === 0) return [];
    const { rows } = await this.store.pool.query<{ stream_id: string; type: string; data: unknown }>(
      `SELECT stream_id, type, CASE WHEN type = ANY($2::text[]) THEN data END AS data
         FROM ${this.table}
        WHERE stream_id = ANY($1::text[])
        ORDER BY stream_id, stream_position`,
      [streamIds, withData],
    );
    return rows.map((r) => ({ streamId: r.stream_id, type: r.type, data: r.data }));
  }

  async eventsOfType(streamIds: readonly string[], type: string): Promise<HistoryEvent[]> {
    if (streamIds.length === 0) return [];
    const { rows } = await this.store.pool.query<{ stream_id: string; data: unknown }>(
      `SELECT stream_id, data FROM ${this.table}
        WHERE stream_id = ANY($1::text[]) AND type = $2 ORDER BY global_position`,
      [streamIds, type],
    );
    return rows.map((r) => ({ streamId: r.stream_id, type, data: r.data }));
  }
}
