import { Injectable } from '@nestjs/common';
import type { ApiRequest } from '@meterflow/contracts';
import { notFound } from '@meterflow/kernel';
import { applyMetadata, enumOf, int, metadata, rejectUnknown, str } from '@meterflow/stripe-api';
import { isMetered } from '../domain/price.js';
import type { NewItem } from '../domain/subscription.decider.js';
import type { ProrationBehavior, SubscriptionState } from '../domain/subscription.types.js';
import { toStripeSubscriptionItem } from '../domain/subscription.view.js';
import { PricesHandler } from './prices.handler.js';
import { SubscriptionQueries } from './subscription-queries.js';
import { IGNORED, PRORATION, SubscriptionWrites } from './subscription-writes.js';
import { TimeService } from './time.service.js';
import { UsageRatingService } from './usage-rating.service.js';

export interface ItemChange {
  delete?: boolean;
  price?: string;
  quantity?: number;
  metadata?: ReturnType<typeof metadata>;
  proration: ProrationBehavior;
}

/**
 * Item changes: `subscription_items.create/update/del`, and the same changes made through
 * `subscriptions.update`'s `items` (price changes bill the old price's usage in flexible mode).
 */
@Injectable()
export class SubscriptionItemsHandler {
  constructor(
    private readonly subs: SubscriptionWrites,
    private readonly queries: SubscriptionQueries,
    private readonly catalog: PricesHandler,
    private readonly time: TimeService,
    private readonly rating: UsageRatingService,
  ) {}

  /** Add a read item to a subscription at `now`. */
  async addItem(req: ApiRequest, subId: string, item: NewItem, now: number, proration: ProrationBehavior): Promise<SubscriptionState> {
    const product_names = Object.fromEntries(await this.rating.productNames([item.price.product]));
    return this.subs.run(subId, { type: 'AddItem', now, item, proration_behavior: proration, product_names }, req);
  }

  /** Change or delete an item; usage so far at the old price is rated when flexible mode bills it. */
  async changeItem(req: ApiRequest, subId: string, itemId: string, change: ItemChange): Promise<SubscriptionState> {
    const s = await this.subs.load(subId);
    const item = s.items.find((i) => i.id === itemId);
    if (!item) throw notFound('subscription_item', itemId);
    const now = await this.time.now(s.test_clock);
    const priceChange = change.price && change.price !== item.price.id ? await this.catalog.get(change.price) : undefined;
    // Usage so far at the old price matters only when flexible mode bills it.
    const needsUsage =
      (change.delete || priceChange) && isMetered(item.price) && s.billing_mode.type === 'flexible' && change.proration !== 'none';
    const usage_lines = needsUsage ? await this.subs.usageLines(s, [{ item, start: item.current_period_start }], now) : [];
    if (change.delete)
      return this.subs.run(subId, { type: 'DeleteItem', now, item: itemId, proration_behavior: change.proration, usage_lines }, req);
    return this.subs.run(
      subId,
      {
        type: 'UpdateItem',
        now,
        item: itemId,
        ...(priceChange ? { price: priceChange } : {}),
        ...(change.quantity !== undefined ? { quantity: change.quantity } : {}),
        ...(change.metadata !== undefined ? { metadata: applyMetadata(item.metadata, change.metadata) } : {}),
        proration_behavior: change.proration,
        usage_lines,
      },
      req,
    );
  }

  async createItem(req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, [
      'subscription',
      'price',
      'quantity',
      'metadata',
      'proration_behavior',
      'tax_rates',
      'discounts',
      'billing_thresholds',
      ...IGNORED,
    ]);
    const subId = str(p, 'subscription', { required: true });
    const s0 = await this.subs.load(subId);
    const proration = enumOf(p, 'proration_behavior', PRORATION) ?? 'create_prorations';
    const item = await this.subs.readItem(
      Object.fromEntries(Object.entries(p).filter(([k]) => ['price', 'quantity', 'metadata'].includes(k))),
    );
    const now = await this.time.now(s0.test_clock);
    const s = await this.addItem(req, subId, item, now, proration);
    return toStripeSubscriptionItem(
      s.items.find((i) => i.id === item.id)!,
      s.id,
    );
  }

  async updateItem(req: ApiRequest) {
    const id = req.path.id ?? '';
    const p = req.params;
    rejectUnknown(p, ['price', 'quantity', 'metadata', 'proration_behavior', 'tax_rates', 'discounts', 'billing_thresholds', ...IGNORED]);
    const subId = await this.queries.subscriptionOfItem(id);
    const price = str(p, 'price');
    const quantity = int(p, 'quantity', { min: 0 });
    const md = metadata(p);
    const s = await this.changeItem(req, subId, id, {
      proration: enumOf(p, 'proration_behavior', PRORATION) ?? 'create_prorations',
      ...(price ? { price } : {}),
      ...(quantity != null ? { quantity } : {}),
      ...(md !== undefined ? { metadata: md } : {}),
    });
    return toStripeSubscriptionItem(
      s.items.find((i) => i.id === id)!,
      s.id,
    );
  }

  async deleteItem(req: ApiRequest) {
    const id = req.path.id ?? '';
    const p = req.params;
    rejectUnknown(p, ['proration_behavior', 'clear_usage', 'proration_date', 'payment_behavior']);
    const subId = await this.queries.subscriptionOfItem(id);
    await this.changeItem(req, subId, id, { delete: true, proration: enumOf(p, 'proration_behavior', PRORATION) ?? 'create_prorations' });
    return { id, object: 'subscription_item' as const, deleted: true as const };
  }
}
