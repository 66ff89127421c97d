import type pg from 'pg';
import { withTransaction } from '@meterflow/event-store';
import { listSql, type ListParams, type StripeList } from '@meterflow/stripe-api';
import type { DuePosition, SubscriptionIndex, SubscriptionListFilter, SubscriptionSchedule } from '../../application/ports.js';
import type { Recurrence } from '../../domain/billing-period.js';
import type { SubscriptionState } from '../../domain/subscription.types.js';
import { clockSql, rangeSql } from './list-sql.js';

const WITH_THRESHOLDS = `status = 'active' AND jsonb_typeof(state->'billing_thresholds') = 'object'`;

/** The `subscriptions` read model's query columns (and `subscription_items`), for lists, lookups and the schedulers. */
export class PgSubscriptionIndex implements SubscriptionIndex, SubscriptionSchedule {
  constructor(private readonly pool: pg.Pool) {}

  async list(f: SubscriptionListFilter, lp: ListParams): Promise<StripeList<SubscriptionState>> {
    const args: unknown[] = [];
    const where: string[] = [];
    const add = (sql: string, v: unknown) => {
      args.push(v);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (f.customer) add('customer = ?', f.customer);
    if (f.price) add('? = ANY(price_ids)', f.price);
    if (f.test_clock) add('test_clock = ?', f.test_clock);
    // Stripe's default list leaves canceled subscriptions out.
    if (!f.status) where.push(`status <> 'canceled'`);
    else if (f.status === 'ended') where.push(`status = 'canceled'`);
    else if (f.status !== 'all') add('status = ?', f.status);
    where.push(...rangeSql('created', f.created, args));
    const page = listSql(lp, { firstArg: args.length + 1 });
    if (page.where) where.push(page.where);
    const { rows } = await this.pool.query<{ state: SubscriptionState }>(
      `SELECT state FROM subscriptions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
      [...args, ...page.args],
    );
    return page.finish(
      rows.map((r) => r.state),
      '/v1/subscriptions',
    );
  }

  async subscriptionOfItem(item: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ subscription: string }>(
      'SELECT subscription FROM subscription_items WHERE id = $1 AND NOT deleted',
      [item],
    );
    return rows[0]?.subscription ?? null;
  }

  async activeOfCustomer(customer: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(`SELECT id FROM subscriptions WHERE customer = $1 AND status = 'active'`, [
      customer,
    ]);
    return rows.map((r) => r.id);
  }

  async firstDueOfCustomer(customer: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM subscriptions WHERE customer = $1 AND status = 'active' ORDER BY next_due, id LIMIT 1`,
      [customer],
    );
    return rows[0]?.id ?? null;
  }

  async recurrencesOnClock(clock: string): Promise<Recurrence[]> {
    const { rows } = await this.pool.query<{ interval: string; interval_count: number }>(
      `SELECT DISTINCT state->'recurrence'->>'interval' AS interval, (state->'recurrence'->>'interval_count')::int AS interval_count
         FROM subscriptions WHERE test_clock = $1 AND status = 'active'`,
      [clock],
    );
    return rows.map((r) => ({ interval: r.interval, interval_count: r.interval_count }) as Recurrence);
  }

  async clockWork(clock: string, after: number, upTo: number): Promise<{ earliest: number | null; leftOver: boolean }> {
    const { rows } = await this.pool.query<{ at: string | null; pending: boolean }>(
      `SELECT (SELECT min(next_due) FROM subscriptions WHERE test_clock = $1 AND next_due > $2 AND next_due <= $3)::text AS at,
              EXISTS (SELECT 1 FROM subscriptions WHERE test_clock = $1 AND (pending_invoices > 0 OR next_due <= $2)) AS pending`,
      [clock, after, upTo],
    );
    return { earliest: rows[0]?.at ? Number(rows[0].at) : null, leftOver: rows[0]?.pending === true };
  }

  /**
   * An index-ordered walk of `(test_clock, next_due, id)`, so each call reads `limit` entries
   * and no more. Bitmap scans are off for it: on a never-analyzed table the planner thinks few
   * rows match and chooses a bitmap scan and a sort, which reads every due row on each call.
   */
  async due(clock: string | null, at: number, after: DuePosition | null, limit: number): Promise<DuePosition[]> {
    const args: unknown[] = [at];
    let from = '';
    if (after) {
      args.push(after.next_due, after.id);
      from = `AND (next_due, id) > ($2, $3)`;
    }
    const rows = await withTransaction(this.pool, async (tx) => {
      await tx.query('SET LOCAL enable_bitmapscan = off');
      const r = await tx.query<{ id: string; next_due: string }>(
        `SELECT id, next_due FROM subscriptions WHERE ${clockSql(clock, args)} AND next_due <= $1 ${from}
          ORDER BY next_due, id LIMIT ${limit}`,
        args,
      );
      return r.rows;
    });
    return rows.map((r) => ({ id: r.id, next_due: Number(r.next_due) }));
  }

  async withPendingInvoices(clock: string | null, limit: number): Promise<string[]> {
    const args: unknown[] = [];
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM subscriptions WHERE pending_invoices > 0 AND ${clockSql(clock, args)} ORDER BY id LIMIT ${limit}`,
      args,
    );
    return rows.map((r) => r.id);
  }

  async clockProgress(clock: string, target: number): Promise<{ total: number; due: number }> {
    const { rows } = await this.pool.query<{ total: string; due: string }>(
      `SELECT count(*) FILTER (WHERE next_due IS NOT NULL)::text AS total,
              count(*) FILTER (WHERE pending_invoices > 0 OR next_due <= $2)::text AS due
         FROM subscriptions WHERE test_clock = $1`,
      [clock, target],
    );
    return { total: Number(rows[0]?.total ?? 0), due: Number(rows[0]?.due ?? 0) };
  }

  async hasThresholds(clock: string): Promise<boolean> {
    const { rows } = await this.pool.query(`SELECT 1 FROM subscriptions WHERE test_clock = $1 AND ${WITH_THRESHOLDS} LIMIT 1`, [clock]);
    return rows.length > 0;
  }

  async withThresholds(clock: string | null, afterId: string, limit: number): Promise<string[]> {
    const args: unknown[] = [afterId];
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM subscriptions WHERE ${clockSql(clock, args)} AND ${WITH_THRESHOLDS} AND id > $1
        ORDER BY id LIMIT ${limit}`,
      args,
    );
    return rows.map((r) => r.id);
  }
}
