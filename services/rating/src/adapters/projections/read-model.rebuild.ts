import type pg from 'pg';
import { STRIPE_EVENT_ANNOUNCED, STRIPE_EVENT_EMITTED, type ProgressListener } from '@meterflow/contracts';
import { quoteIdent, withTransaction, type PgEventStore } from '@meterflow/event-store';
import type { ReadModel, RatingReadModels } from '../../application/ports.js';
import { customerDecider } from '../../domain/customer.decider.js';
import { priceDecider } from '../../domain/price.decider.js';
import { productDecider } from '../../domain/product.decider.js';
import { subscriptionDecider } from '../../domain/subscription.aggregate.js';
import { testClockDecider } from '../../domain/test-clock.decider.js';

/** Every read-model table this service derives from its event store. */
export const READ_MODEL_TABLES = ['customers', 'products', 'prices', 'test_clocks', 'subscriptions', 'subscription_items'] as const;

interface Kind {
  evolve: (state: unknown, event: { type: string; data: unknown }) => unknown;
  model: ReadModel<unknown>;
}

/** Which decider folds a stream and which read model it projects into, by kind (`cus`, `prod`, `price`, `clock`, `sub`). */
function kinds(models: RatingReadModels): Record<string, Kind> {
  const kind = <S, E>(d: { evolve: (s: S, e: E) => S }, model: ReadModel<S>): Kind => ({
    evolve: d.evolve as unknown as Kind['evolve'],
    model: model as unknown as ReadModel<unknown>,
  });
  return {
    cus: kind(customerDecider, models.customers),
    prod: kind(productDecider, models.products),
    price: kind(priceDecider, models.prices),
    clock: kind(testClockDecider, models.testClocks),
    sub: kind(subscriptionDecider, models.subscriptions),
  };
}

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
  models: RatingReadModels,
  batch = 5_000,
  onProgress?: ProgressListener,
): Promise<{ streams: number; events: number }> {
  const repos = kinds(models);
  const schema = quoteIdent(store.schema);
  return withTransaction(store.pool, async (tx: pg.PoolClient) => {
    await tx.query(`TRUNCATE ${READ_MODEL_TABLES.map((t) => `${schema}.${t}`).join(', ')}`);
    const total = onProgress ? await store.lastPosition(tx) : 0;
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
        if (r.type === STRIPE_EVENT_EMITTED || r.type === STRIPE_EVENT_ANNOUNCED) continue;
        s.prefix ||= kindOf(r.type) ?? '';
        const repo = repos[s.prefix];
        if (!repo) continue;
        s.state = repo.evolve(s.state, { type: r.type, data: r.data });
        events++;
      }
      onProgress?.({ phase: 'replay', done: Number(after), total, unit: 'events' });
    }
    const byPrefix = new Map<string, { id: string; version: number; state: unknown }[]>();
    for (const [id, s] of streams) {
      if (s.state === null || !repos[s.prefix]) continue;
      byPrefix.set(s.prefix, [...(byPrefix.get(s.prefix) ?? []), { id, version: s.version, state: s.state }]);
    }
    const objects = [...byPrefix.values()].reduce((n, rows) => n + rows.length, 0);
    let projected = 0;
    for (const [prefix, rows] of byPrefix) {
      // the live projection, as if each object were created whole
      for (let i = 0; i < rows.length; i += batch) {
        const slice = rows.slice(i, i + batch);
        await repos[prefix]!.model.project(
          tx,
          slice.map((r) => ({ id: r.id, version: r.version, before: null, after: r.state, events: [], stored: [] })),
        );
        projected += slice.length;
        onProgress?.({ phase: 'project', done: projected, total: objects, unit: 'objects' });
      }
    }
    return { streams: streams.size, events };
  });
}
