import type pg from 'pg';
import { listSql, type ListParams, type StripeList } from '@meterflow/stripe-api';
import type { AlertReadModel } from '../../application/ports.js';
import type { Alert } from '../../domain/alert.decider.js';

type Queryable = Pick<pg.Pool, 'query'>;

/** The `alerts` read model and the record of which customer triggered which alert. */
export class AlertRepository implements AlertReadModel {
  constructor(private readonly pool: pg.Pool) {}

  async save(tx: Queryable, a: Alert, version: number): Promise<void> {
    await tx.query(
      `INSERT INTO alerts (id, meter_id, customer, status, created, body, version) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, body = EXCLUDED.body, version = EXCLUDED.version`,
      [a.id, a.meterId, a.customer, a.status, a.created, JSON.stringify(a), version],
    );
  }

  async get(id: string): Promise<Alert | undefined> {
    const { rows } = await this.pool.query<{ body: Alert }>('SELECT body FROM alerts WHERE id = $1', [id]);
    return rows[0]?.body;
  }

  async active(): Promise<Alert[]> {
    const { rows } = await this.pool.query<{ body: Alert }>("SELECT body FROM alerts WHERE status = 'active'");
    return rows.map((r) => r.body);
  }

  async list(meterId: string | undefined, lp: ListParams, url: string): Promise<StripeList<Alert>> {
    const params: unknown[] = meterId ? [meterId] : [];
    const page = listSql(lp, { firstArg: params.length + 1 });
    const conds = [...(meterId ? ['meter_id = $1'] : []), ...(page.where ? [page.where] : [])];
    const { rows } = await this.pool.query<{ body: Alert }>(
      `SELECT body FROM alerts ${conds.length ? `WHERE ${conds.join(' AND ')}` : ''} ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
      [...params, ...page.args],
    );
    return page.finish(
      rows.map((r) => r.body),
      url,
    );
  }

  async triggered(alertIds: string[], customers: string[]): Promise<Set<string>> {
    const { rows } = await this.pool.query<{ k: string }>(
      `SELECT alert_id || '|' || customer AS k FROM alert_triggers WHERE alert_id = ANY($1::text[]) AND customer = ANY($2::text[])`,
      [alertIds, customers],
    );
    return new Set(rows.map((r) => r.k));
  }

  /** False when this customer already triggered the alert (one_time). */
  async recordTrigger(tx: Queryable, alertId: string, customer: string, value: bigint, at: number): Promise<boolean> {
    const r = await tx.query(
      'INSERT INTO alert_triggers (alert_id, customer, value, triggered_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
      [alertId, customer, value.toString(), at],
    );
    return (r.rowCount ?? 0) > 0;
  }
}
