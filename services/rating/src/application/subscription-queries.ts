import { Inject, Injectable } from '@nestjs/common';
import type { ApiRequest } from '@meterflow/contracts';
import { notFound } from '@meterflow/kernel';
import { LIST_PARAM_KEYS, enumOf, listSql, pageInMemory, parseListParams, rejectUnknown, str } from '@meterflow/stripe-api';
import type pg from 'pg';
import { PG_POOL } from '@meterflow/service-kit';
import type { SubscriptionState } from '../domain/subscription.types.js';
import { toStripeSubscription, toStripeSubscriptionItem } from '../domain/subscription.view.js';
import { rangeFilter } from './list-filters.js';
import { SubscriptionWrites } from './subscription-writes.js';

/** Reading subscriptions and subscription items: retrieve and list. */
@Injectable()
export class SubscriptionQueries {
  constructor(
    @Inject(PG_POOL) private readonly pool: pg.Pool,
    private readonly subs: SubscriptionWrites,
  ) {}

  async retrieve(req: ApiRequest) {
    return toStripeSubscription(await this.subs.load(req.path.id ?? ''));
  }

  async list(req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, [...LIST_PARAM_KEYS, 'customer', 'price', 'status', 'test_clock', 'created']);
    const args: unknown[] = [];
    const where: string[] = [];
    const add = (sql: string, v: unknown) => {
      args.push(v);
      where.push(sql.replace('?', `$${args.length}`));
    };
    const customer = str(p, 'customer');
    if (customer) add('customer = ?', customer);
    const price = str(p, 'price');
    if (price) add('? = ANY(price_ids)', price);
    const testClock = str(p, 'test_clock');
    if (testClock) add('test_clock = ?', testClock);
    const status = enumOf(p, 'status', [
      'active',
      'all',
      'canceled',
      'ended',
      'incomplete',
      'incomplete_expired',
      'past_due',
      'paused',
      'trialing',
      'unpaid',
    ] as const);
    // Stripe's default list leaves canceled subscriptions out.
    if (!status) where.push(`status <> 'canceled'`);
    else if (status === 'ended') where.push(`status = 'canceled'`);
    else if (status !== 'all') add('status = ?', status);
    const created = rangeFilter(p, 'created', 'created', args.length + 1);
    where.push(...created.sql);
    args.push(...created.args);
    const page = listSql(parseListParams(p), { firstArg: args.length + 1 });
    if (page.where) where.push(page.where);
    const { rows } = await this.pool.query<{ state: SubscriptionState }>(
      `SELECT state FROM subscriptions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
      [...args, ...page.args],
    );
    return page.finish(
      rows.map((r) => toStripeSubscription(r.state)),
      '/v1/subscriptions',
    );
  }

  /** The subscription an item (not deleted) belongs to. */
  async subscriptionOfItem(itemId: string): Promise<string> {
    const { rows } = await this.pool.query<{ subscription: string }>(
      'SELECT subscription FROM subscription_items WHERE id = $1 AND NOT deleted',
      [itemId],
    );
    if (!rows[0]) throw notFound('subscription_item', itemId);
    return rows[0].subscription;
  }

  async retrieveItem(req: ApiRequest) {
    const id = req.path.id ?? '';
    const s = await this.subs.load(await this.subscriptionOfItem(id));
    const item = s.items.find((i) => i.id === id);
    if (!item) throw notFound('subscription_item', id);
    return toStripeSubscriptionItem(item, s.id);
  }

  async listItems(req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, [...LIST_PARAM_KEYS, 'subscription']);
    const s = await this.subs.load(str(p, 'subscription', { required: true }));
    const items = s.items.map((i) => toStripeSubscriptionItem(i, s.id)).sort((a, b) => (a.id < b.id ? 1 : -1));
    return pageInMemory(items, parseListParams(p), '/v1/subscription_items', (i) => i.id);
  }
}
