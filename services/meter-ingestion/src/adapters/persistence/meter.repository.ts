import type pg from 'pg';
import { listSql, type ListParams, type StripeList } from '@meterflow/stripe-api';
import type { MeterReadModel } from '../../application/ports.js';
import type { Meter } from '../../domain/meter.types.js';

type Queryable = Pick<pg.Pool, 'query'>;

/** The `meters` read model (plain SQL: the ingestion hot path reads it through MeterCatalog). */
export class MeterRepository implements MeterReadModel {
  constructor(private readonly pool: pg.Pool) {}

  /** Upsert inside the append's transaction; a second meter with the same event_name fails (23505). */
  async save(tx: Queryable, meter: Meter, version: number): Promise<void> {
    await tx.query(
      `INSERT INTO meters (id, event_name, status, body, version) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, body = EXCLUDED.body, version = EXCLUDED.version`,
      [meter.id, meter.eventName, meter.status, JSON.stringify(meter), version],
    );
  }

  async get(id: string): Promise<Meter | undefined> {
    const { rows } = await this.pool.query<{ body: Meter }>('SELECT body FROM meters WHERE id = $1', [id]);
    return rows[0]?.body;
  }

  async all(): Promise<Meter[]> {
    const { rows } = await this.pool.query<{ body: Meter }>('SELECT body FROM meters');
    return rows.map((r) => r.body);
  }

  async list(status: string | undefined, lp: ListParams, url: string): Promise<StripeList<Meter>> {
    const params: unknown[] = status ? [status] : [];
    const page = listSql(lp, { firstArg: params.length + 1 });
    const conds = [...(status ? ['status = $1'] : []), ...(page.where ? [page.where] : [])];
    const { rows } = await this.pool.query<{ body: Meter }>(
      `SELECT body FROM meters ${conds.length ? `WHERE ${conds.join(' AND ')}` : ''} ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
      [...params, ...page.args],
    );
    return page.finish(
      rows.map((r) => r.body),
      url,
    );
  }
}
