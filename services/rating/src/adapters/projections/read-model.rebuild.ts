import type pg from 'pg';
import { STRIPE_EVENT_EMITTED } from '@meterflow/contracts';
import { quoteIdent, withTransaction, type PgEventStore } from '@meterflow/event-store';
import type { AggregateRepository, DomainEvent } from '../persistence/aggregate.repository.js';

/** Every read-model table this service derives from its event store. */
export const READ_MODEL_TABLES = ['customers', 'products', 'prices', 'test_clocks', 'subscriptions', 'subscription_items'] as const;

/** Which repository folds a stream, by kind (`cus`, `prod`, `price`, `clock`, `sub`). */
export type RepositoryByPrefix = Record<string, AggregateRepository<unknown, DomainEvent>>;

/** A stream's kind, from its event types (product ids may be chosen by the client). */
const KIND_BY_EVENT_PREFIX: [string, string][] = [
  ['TestClock', 'clock'],
  ['Subscription', 'sub'],
  ['Customer', 'cus'],
  ['Product', 'prod'],
  ['Price', 'price'],
];
const kindOf = (type: string): string | undefined => KIND_BY_EVENT_PREFIX.find(([p]) => type.startsWith(p))?.[1];

/**
 * Drop the read models and fold every stream again (the Stripe event facts are skipped: they
 * describe changes, they do not make them). Runs in one transaction: readers see the old rows
 * until it commits.
 */
export async function rebuildReadModels(
  store: PgEventStore,
  repos: RepositoryByPrefix,
  batch = 5_000,
): Promise<{ streams: number; events: number }> {
  const schema = quoteIdent(store.schema);
  return withTransaction(store.pool, async (tx: pg.PoolClient) => {
    await tx.query(`TRUNCATE ${READ_MODEL_TABLES.map((t) => `${schema}.${t}`).join(', ')}`);
    let after = 0n;
    let events = 0;
    const streams = new Map<string, { prefix: string; state: unknown; version: number }>();
    for (;;) {
      const { rows } = await tx.query<{ gp: string; stream_id: string; stream_position: number; type: string; data: unknown }>(
        `SELECT global_position::text AS gp, stream_id, stream_position, type, data FROM ${schema}.events
          WHERE global_position > $1 ORDER BY global_position LIMIT ${batch}`,
        [after.toString()],
      );
      if (rows.length === 0) break;
      for (const r of rows) {
        after = BigInt(r.gp);
        const s = streams.get(r.stream_id) ?? { prefix: '', state: null, version: 0 };
        s.version = r.stream_position;
        streams.set(r.stream_id, s);
        if (r.type === STRIPE_EVENT_EMITTED) continue;
        s.prefix ||= kindOf(r.type) ?? '';
        const repo = repos[s.prefix];
        if (!repo) continue;
        s.state = repo.spec.evolve(s.state, { type: r.type, data: r.data });
        events++;
      }
    }
    const byPrefix = new Map<string, { id: string; version: number; state: unknown }[]>();
    for (const [id, s] of streams) {
      if (s.state === null || !repos[s.prefix]) continue;
      byPrefix.set(s.prefix, [...(byPrefix.get(s.prefix) ?? []), { id, version: s.version, state: s.state }]);
    }
    for (const [prefix, rows] of byPrefix) {
      for (let i = 0; i < rows.length; i += batch) await repos[prefix]!.restore(tx, rows.slice(i, i + batch));
    }
    return { streams: streams.size, events };
  });
}
