import { Inject, Injectable } from '@nestjs/common';
import type { ApiRequest } from '@meterflow/contracts';
import { notFound } from '@meterflow/kernel';
import { LIST_PARAM_KEYS, enumOf, pageInMemory, parseListParams, rejectUnknown, str } from '@meterflow/stripe-api';
import { toStripeSubscription, toStripeSubscriptionItem } from '../domain/subscription.view.js';
import { parseRange } from './list-filters.js';
import { SUBSCRIPTION_INDEX, type SubscriptionIndex, type SubscriptionListFilter } from './ports.js';
import { SubscriptionWrites } from './subscription-writes.js';

/** Reading subscriptions and subscription items: retrieve and list. */
@Injectable()
export class SubscriptionQueries {
  constructor(
    @Inject(SUBSCRIPTION_INDEX) private readonly index: SubscriptionIndex,
    private readonly subs: SubscriptionWrites,
  ) {}

  async retrieve(req: ApiRequest) {
    return toStripeSubscription(await this.subs.load(req.path.id ?? ''));
  }

  async list(req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, [...LIST_PARAM_KEYS, 'customer', 'price', 'status', 'test_clock', 'created']);
    const filter: SubscriptionListFilter = {};
    const customer = str(p, 'customer');
    if (customer) filter.customer = customer;
    const price = str(p, 'price');
    if (price) filter.price = price;
    const testClock = str(p, 'test_clock');
    if (testClock) filter.test_clock = testClock;
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
    if (status) filter.status = status;
    const created = parseRange(p, 'created');
    if (created) filter.created = created;
    const list = await this.index.list(filter, parseListParams(p));
    return { ...list, data: list.data.map(toStripeSubscription) };
  }

  /** The subscription an item (not deleted) belongs to. */
  async subscriptionOfItem(itemId: string): Promise<string> {
    const subscription = await this.index.subscriptionOfItem(itemId);
    if (!subscription) throw notFound('subscription_item', itemId);
    return subscription;
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
