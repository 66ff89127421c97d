import type pg from 'pg';
import { toJson, type Change, type Loaded } from '@meterflow/event-store';
import type { ReadModel, RatingReadModels } from '../../application/ports.js';
import type { CustomerObject, Deletable, ProductObject } from '../../domain/catalog.events.js';
import type { PriceObject } from '../../domain/price.js';
import { nextDue } from '../../domain/subscription.decider.js';
import type { SubscriptionState } from '../../domain/subscription.types.js';
import type { TestClockState } from '../../domain/test-clock.decider.js';

type Queryable = Pick<pg.PoolClient, 'query'>;

/** How one aggregate kind is stored: its table and the columns lists and schedulers filter on. */
interface TableSpec<S> {
  table: string;
  /** Query columns of the row, with their SQL types (for bulk writes). */
  columns: (state: S) => Record<string, unknown>;
  columnTypes: Record<string, string>;
  /** Extra writes in the same transaction (an index table), for the rows just written. */
  afterSave?: (tx: pg.PoolClient, changes: { before: S | null; after: S }[]) => Promise<void>;
}

/**
 * A read model as a table of `(id, version, state, ...columns)`: the pipeline's snapshot (one
 * `SELECT ... WHERE id = ANY`) and projection (one bulk upsert per unit, plus `afterSave`).
 */
export function tableReadModel<S>(pool: pg.Pool, spec: TableSpec<S>): ReadModel<S | null> {
  const snapshot = async (db: Queryable, ids: readonly string[]): Promise<Map<string, Loaded<S | null>>> => {
    const out = new Map<string, Loaded<S | null>>();
    if (ids.length === 0) return out;
    const { rows } = await db.query<{ id: string; state: S; version: number }>(
      `SELECT id, state, version FROM ${spec.table} WHERE id = ANY($1::text[])`,
      [ids],
    );
    for (const r of rows) out.set(r.id, { state: r.state, version: r.version });
    return out;
  };
  const project = async (tx: pg.PoolClient, changes: readonly Change<S | null>[]): Promise<void> => {
    const rows = changes.filter((c): c is Change<S | null> & { after: S } => c.after !== null);
    if (rows.length === 0) return;
    const names = Object.keys(spec.columnTypes);
    const records = rows.map((r) => ({ id: r.id, version: r.version, state: r.after, ...spec.columns(r.after) }));
    const defs = ['id text', 'version int', 'state jsonb', ...names.map((n) => `${n} ${spec.columnTypes[n]}`)].join(', ');
    const all = ['id', 'version', 'state', ...names];
    await tx.query(
      `INSERT INTO ${spec.table} (${all.join(', ')})
       SELECT ${all.map((n) => `x.${n}`).join(', ')} FROM jsonb_to_recordset($1::jsonb) AS x(${defs})
       ON CONFLICT (id) DO UPDATE SET ${all
         .slice(1)
         .map((n) => `${n} = EXCLUDED.${n}`)
         .join(', ')}`,
      [toJson(records)],
    );
    await spec.afterSave?.(
      tx,
      rows.map((r) => ({ before: r.before, after: r.after })),
    );
  };
  return {
    snapshot,
    project,
    async get(id) {
      const { rows } = await pool.query<{ state: S }>(`SELECT state FROM ${spec.table} WHERE id = $1`, [id]);
      return rows[0]?.state ?? null;
    },
    getMany: (ids) => snapshot(pool, ids),
  };
}

const itemIds = (s: SubscriptionState | null): string => (s ? s.items.map((i) => i.id).join(',') : '');

/** item id -> subscription, for the subscriptions whose set of items changed. */
async function indexItems(tx: pg.PoolClient, changes: { before: SubscriptionState | null; after: SubscriptionState }[]): Promise<void> {
  const changed = changes.filter((c) => itemIds(c.before) !== itemIds(c.after)).map((c) => c.after);
  if (changed.length === 0) return;
  const items = changed.flatMap((s) => s.items.map((i) => ({ id: i.id, subscription: s.id, created: i.created })));
  await tx.query(
    `INSERT INTO subscription_items (id, subscription, created, deleted)
     SELECT unnest($1::text[]), unnest($2::text[]), unnest($3::bigint[]), false
     ON CONFLICT (id) DO NOTHING`,
    [items.map((i) => i.id), items.map((i) => i.subscription), items.map((i) => i.created)],
  );
  await tx.query(
    `UPDATE subscription_items SET deleted = true
      WHERE subscription = ANY($1::text[]) AND NOT deleted AND NOT (id = ANY($2::text[]))`,
    [changed.map((s) => s.id), items.map((i) => i.id)],
  );
}

/** Rating's read models (tables of migrations.ts), on `pool` (search_path `rating`). */
export function ratingReadModels(pool: pg.Pool): RatingReadModels {
  return {
    customers: tableReadModel<Deletable<CustomerObject>>(pool, {
      table: 'customers',
      columns: (s) => ({ created: s.object.created, test_clock: s.object.test_clock, email: s.object.email, deleted: s.deleted }),
      columnTypes: { created: 'bigint', test_clock: 'text', email: 'text', deleted: 'boolean' },
    }),
    products: tableReadModel<ProductObject>(pool, {
      table: 'products',
      columns: (s) => ({ created: s.created, active: s.active }),
      columnTypes: { created: 'bigint', active: 'boolean' },
    }),
    prices: tableReadModel<PriceObject>(pool, {
      table: 'prices',
      columns: (s) => ({
        created: s.created,
        active: s.active,
        product: s.product,
        currency: s.currency,
        type: s.type,
        lookup_key: s.lookup_key,
        usage_type: s.recurring?.usage_type ?? null,
        meter: s.recurring?.meter ?? null,
        recurring_interval: s.recurring?.interval ?? null,
      }),
      columnTypes: {
        created: 'bigint',
        active: 'boolean',
        product: 'text',
        currency: 'text',
        type: 'text',
        lookup_key: 'text',
        usage_type: 'text',
        meter: 'text',
        recurring_interval: 'text',
      },
    }),
    testClocks: tableReadModel<TestClockState>(pool, {
      table: 'test_clocks',
      columns: (s) => ({ created: s.created, status: s.status, deleted: s.deleted }),
      columnTypes: { created: 'bigint', status: 'text', deleted: 'boolean' },
    }),
    subscriptions: tableReadModel<SubscriptionState>(pool, {
      table: 'subscriptions',
      columns: (s) => ({
        created: s.created,
        customer: s.customer,
        test_clock: s.test_clock,
        status: s.status,
        next_due: nextDue(s),
        pending_invoices: s.pending_invoices.length,
        price_ids: s.items.map((i) => i.price.id),
      }),
      columnTypes: {
        created: 'bigint',
        customer: 'text',
        test_clock: 'text',
        status: 'text',
        next_due: 'bigint',
        pending_invoices: 'int',
        price_ids: 'text[]',
      },
      afterSave: indexItems,
    }),
  };
}
