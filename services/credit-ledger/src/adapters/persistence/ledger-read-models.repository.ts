import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import type { ClockNextDueReply, Stripe } from '@meterflow/contracts';
import { PG_POOL } from '@meterflow/service-kit';
import { listSql, type ListParams, type StripeList } from '@meterflow/stripe-api';
import type { GrantBalance } from '../../domain/credit-balance.js';
import { renderGrantRow, renderTransaction, type GrantRow, type TransactionRow } from '../../application/credit-ledger.presenters.js';
import type { GrantReads, ScheduleReads, TransactionReads } from '../../application/ports.js';

/** Grants with work still due (not yet effective, or not yet expired), as SQL over the read model. */
const DUE_SQL = `voided_at IS NULL AND expired_at IS NULL AND (
  (NOT granted AND (expires_at IS NULL OR effective_at < expires_at) AND effective_at <= $2)
  OR (expires_at IS NOT NULL AND expires_at <= $2))`;

/** `credit_grants`: retrieve, list, owner, the balance summary's rows, and the grant schedule. */
@Injectable()
export class PgGrantReads implements GrantReads, ScheduleReads {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  async retrieve(id: string): Promise<Stripe.Billing.CreditGrant | null> {
    const { rows } = await this.pool.query<GrantRow>('SELECT * FROM credit_grants WHERE id = $1', [id]);
    return rows[0] ? renderGrantRow(rows[0]) : null;
  }

  async list(filter: { customer?: string }, lp: ListParams): Promise<StripeList<Stripe.Billing.CreditGrant>> {
    const args: unknown[] = [];
    const where: string[] = [];
    if (filter.customer) where.push(`customer = $${args.push(filter.customer)}`);
    const page = listSql(lp, { firstArg: args.length + 1 });
    if (page.where) where.push(page.where);
    const { rows } = await this.pool.query<GrantRow>(
      `SELECT * FROM credit_grants ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
      [...args, ...page.args],
    );
    return page.finish(rows.map(renderGrantRow), '/v1/billing/credit_grants');
  }

  async owner(id: string): Promise<{ customer: string; test_clock: string | null } | null> {
    const { rows } = await this.pool.query<{ customer: string; test_clock: string | null }>(
      'SELECT customer, test_clock FROM credit_grants WHERE id = $1',
      [id],
    );
    return rows[0] ?? null;
  }

  async balancesOf(customer: string): Promise<GrantBalance[]> {
    const { rows } = await this.pool.query<GrantRow>('SELECT * FROM credit_grants WHERE customer = $1', [customer]);
    return rows.map((r) => ({
      id: r.id,
      currency: r.currency,
      scope: { price_type: r.price_type as 'metered' | null, prices: r.prices },
      ledgerBalance: BigInt(r.ledger_balance),
      expiresAt: r.expires_at === null ? null : Number(r.expires_at),
      expired: r.expired_at !== null,
    }));
  }

  async nextDue(clock: string, after: number, upTo: number): Promise<ClockNextDueReply> {
    const { rows } = await this.pool.query<{ at: string | null }>(
      `SELECT min(t) AS at FROM (
         SELECT effective_at AS t FROM credit_grants
          WHERE test_clock = $1 AND NOT granted AND voided_at IS NULL AND expired_at IS NULL
            AND (expires_at IS NULL OR effective_at < expires_at)
         UNION ALL
         SELECT expires_at FROM credit_grants
          WHERE test_clock = $1 AND expires_at IS NOT NULL AND voided_at IS NULL AND expired_at IS NULL
       ) x WHERE t > $2 AND t <= $3`,
      [clock, after, upTo],
    );
    return { at: rows[0]?.at == null ? null : Number(rows[0].at) };
  }

  async dueBy(clock: string | null, to: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM credit_grants WHERE ${clock === null ? 'test_clock IS NULL AND $1::text IS NULL' : 'test_clock = $1'} AND ${DUE_SQL}
        ORDER BY LEAST(CASE WHEN granted THEN NULL ELSE effective_at END, expires_at), id`,
      [clock, to],
    );
    return rows.map((r) => r.id);
  }
}

/** `credit_balance_transactions`: retrieve and list. */
@Injectable()
export class PgTransactionReads implements TransactionReads {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  async retrieve(id: string): Promise<Stripe.Billing.CreditBalanceTransaction | null> {
    const { rows } = await this.pool.query<TransactionRow>('SELECT * FROM credit_balance_transactions WHERE id = $1', [id]);
    return rows[0] ? renderTransaction(rows[0]) : null;
  }

  async list(
    filter: { customer: string; creditGrant?: string },
    lp: ListParams,
  ): Promise<StripeList<Stripe.Billing.CreditBalanceTransaction>> {
    const args: unknown[] = [filter.customer];
    const where = ['customer = $1'];
    if (filter.creditGrant) where.push(`credit_grant = $${args.push(filter.creditGrant)}`);
    const page = listSql(lp, { firstArg: args.length + 1 });
    if (page.where) where.push(page.where);
    const { rows } = await this.pool.query<TransactionRow>(
      `SELECT * FROM credit_balance_transactions WHERE ${where.join(' AND ')} ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
      [...args, ...page.args],
    );
    return page.finish(rows.map(renderTransaction), '/v1/billing/credit_balance_transactions');
  }
}
