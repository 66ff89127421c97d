import type pg from 'pg';
import { PgEventStore, VersionConflictError, toJson, type AppendBatch, type NewEvent } from '@meterflow/event-store';

export interface DomainEvent {
  type: string;
  data: unknown;
}

/** How one aggregate kind is stored: its read-model table and the columns lists filter on. */
export interface AggregateSpec<S, E extends DomainEvent> {
  table: string;
  evolve: (state: S | null, event: E) => S | null;
  /** Query columns of the row, with their SQL types (for bulk writes). */
  columns: (state: S) => Record<string, unknown>;
  columnTypes: Record<string, string>;
  /** Extra writes in the same transaction (e.g. an index table), for the rows just saved. */
  afterSave?: (tx: pg.PoolClient, changes: { before: S | null; after: S }[]) => Promise<void>;
}

export interface Loaded<S> {
  state: S | null;
  version: number;
}

export interface Decision<S, E> {
  events: E[];
  /** Stripe events (StripeEventEmitted) to append with them, built from the states. */
  facts?: (before: S | null, after: S | null) => NewEvent[];
}

/**
 * Event-sourced aggregates with a snapshot read model: load the row (state + version), decide,
 * append the events at that version (the concurrency guard) and upsert the row, in one
 * transaction. A version conflict reloads and decides again.
 */
export class AggregateRepository<S, E extends DomainEvent> {
  constructor(
    readonly store: PgEventStore,
    readonly spec: AggregateSpec<S, E>,
  ) {}

  get pool(): pg.Pool {
    return this.store.pool;
  }

  async load(id: string, db: Pick<pg.PoolClient, 'query'> = this.pool): Promise<Loaded<S>> {
    const { rows } = await db.query<{ state: S; version: number }>(`SELECT state, version FROM ${this.spec.table} WHERE id = $1`, [id]);
    const row = rows[0];
    return row ? { state: row.state, version: row.version } : { state: null, version: 0 };
  }

  async loadMany(ids: readonly string[], db: Pick<pg.PoolClient, 'query'> = this.pool): Promise<Map<string, Loaded<S>>> {
    const out = new Map<string, Loaded<S>>();
    if (ids.length === 0) return out;
    const { rows } = await db.query<{ id: string; state: S; version: number }>(
      `SELECT id, state, version FROM ${this.spec.table} WHERE id = ANY($1::text[])`,
      [ids],
    );
    for (const r of rows) out.set(r.id, { state: r.state, version: r.version });
    return out;
  }

  /** Append + upsert inside `tx`. Returns the new state (unchanged when there is nothing to record). */
  async save(tx: pg.PoolClient, id: string, loaded: Loaded<S>, decision: Decision<S, E>): Promise<S | null> {
    if (decision.events.length === 0) return loaded.state;
    const after = decision.events.reduce(this.spec.evolve, loaded.state);
    const facts = decision.facts?.(loaded.state, after) ?? [];
    const newEvents: NewEvent[] = [...decision.events.map((e) => ({ type: e.type, data: e.data })), ...facts];
    const { nextVersion } = await this.store.append(id, loaded.version === 0 ? 'no_stream' : loaded.version, newEvents, { tx });
    if (after) await this.upsert(tx, [{ id, version: nextVersion, before: loaded.state, after }]);
    return after;
  }

  /**
   * Many aggregates in one transaction with two statements (one multi-stream append, one bulk
   * upsert). Each stream is appended at its loaded version, all or nothing: when one of them
   * moved meanwhile (a concurrent writer), every row falls back to `save`, and the ones that
   * really conflict are reported instead of saved.
   */
  async saveMany(
    tx: pg.PoolClient,
    items: readonly { id: string; loaded: Loaded<S>; decision: Decision<S, E> }[],
    occurredAt: Date = new Date(),
  ): Promise<{ saved: Map<string, S>; conflicts: string[] }> {
    const saved = new Map<string, S>();
    const rows: { id: string; version: number; before: S | null; after: S }[] = [];
    const batches: AppendBatch[] = [];
    for (const { id, loaded, decision } of items) {
      if (decision.events.length === 0) continue;
      const after = decision.events.reduce(this.spec.evolve, loaded.state);
      const facts = decision.facts?.(loaded.state, after) ?? [];
      const all: NewEvent[] = [...decision.events.map((e): NewEvent => ({ type: e.type, data: e.data })), ...facts].map((e) => ({
        ...e,
        occurredAt: e.occurredAt ?? occurredAt,
      }));
      batches.push({ streamId: id, expected: loaded.version === 0 ? 'no_stream' : loaded.version, events: all });
      if (after) rows.push({ id, version: loaded.version + all.length, before: loaded.state, after });
    }
    if (batches.length === 0) return { saved, conflicts: [] };
    try {
      // under a savepoint (the default), so the fallback below can go on in this transaction
      await this.store.appendMany(batches, { tx });
    } catch (e) {
      if (!(e instanceof VersionConflictError)) throw e;
      const conflicts: string[] = [];
      for (const it of items) {
        try {
          const after = await this.save(tx, it.id, it.loaded, it.decision);
          if (after) saved.set(it.id, after);
        } catch (err) {
          if (!(err instanceof VersionConflictError)) throw err;
          conflicts.push(it.id);
        }
      }
      return { saved, conflicts };
    }
    await this.upsert(tx, rows);
    for (const r of rows) saved.set(r.id, r.after);
    return { saved, conflicts: [] };
  }

  /** One command on one aggregate, in its own transaction, retried on version conflicts. */
  async execute(
    id: string,
    decide: (state: S | null) => Decision<S, E>,
    retries = 3,
  ): Promise<{ before: S | null; after: S | null; events: E[] }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.store.withTransaction(async (tx) => {
          const loaded = await this.load(id, tx);
          const decision = decide(loaded.state);
          const after = await this.save(tx, id, loaded, decision);
          return { before: loaded.state, after, events: decision.events };
        });
      } catch (e) {
        if (e instanceof VersionConflictError && attempt < retries) continue;
        throw e;
      }
    }
  }

  /** Write rows folded elsewhere (a rebuild by replay). */
  async restore(tx: pg.PoolClient, rows: readonly { id: string; version: number; state: S }[]): Promise<void> {
    await this.upsert(
      tx,
      rows.map((r) => ({ id: r.id, version: r.version, before: null, after: r.state })),
    );
  }

  private async upsert(tx: pg.PoolClient, rows: readonly { id: string; version: number; before: S | null; after: S }[]): Promise<void> {
    if (rows.length === 0) return;
    const names = Object.keys(this.spec.columnTypes);
    const records = rows.map((r) => ({ id: r.id, version: r.version, state: r.after, ...this.spec.columns(r.after) }));
    const defs = ['id text', 'version int', 'state jsonb', ...names.map((n) => `${n} ${this.spec.columnTypes[n]}`)].join(', ');
    const all = ['id', 'version', 'state', ...names];
    await tx.query(
      `INSERT INTO ${this.spec.table} (${all.join(', ')})
       SELECT ${all.map((n) => `x.${n}`).join(', ')} FROM jsonb_to_recordset($1::jsonb) AS x(${defs})
       ON CONFLICT (id) DO UPDATE SET ${all
         .slice(1)
         .map((n) => `${n} = EXCLUDED.${n}`)
         .join(', ')}`,
      [toJson(records)],
    );
    await this.spec.afterSave?.(
      tx,
      rows.map((r) => ({ before: r.before, after: r.after })),
    );
  }
}
