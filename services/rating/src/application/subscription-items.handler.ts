import { Injectable } from '@nestjs/common';
import type { ApiRequest } from '@meterflow/contracts';
import { notFound } from '@meterflow/kernel';
import { applyMetadata, enumOf, int, metadata, rejectUnknown, str, timestamp } from '@meterflow/stripe-api';
import { isMetered } from '../domain/price.js';
import type { NewItem } from '../domain/subscription.decider.js';
import type { ProrationBehavior, SubscriptionState } from '../domain/subscription.types.js';
import { toStripeSubscriptionItem } from '../domain/subscription.view.js';
import { PricesHandler } from './prices.handler.js';
import { SubscriptionQueries } from './subscription-queries.js';
import { IGNORED, PRORATION, SubscriptionWrites } from './subscription-writes.js';
import { refuseItemThresholds } from './billing-thresholds.params.js';
import { TimeService } from './time.service.js';
import { UsageRatingService } from './usage-rating.service.js';

export interface ItemChange {
  delete?: boolean;
  price?: string;
  quantity?: number;
  metadata?: ReturnType<typeof metadata>;
  proration: ProrationBehavior;
  /** `proration_date`: the time prorations are computed at. */
  proration_date?: number;
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

  /**
   * Change or delete an item. Usage so far at the old price is rated when flexible mode bills it;
   * the invoice items the change makes (issue 8 items 5 and 7) are handed to invoicing at once.
   * A period close that committed after the read makes the decider refuse the stale usage: read
   * and rate again.
   */
  async changeItem(req: ApiRequest, subId: string, itemId: string, change: ItemChange): Promise<SubscriptionState> {
    const s = await this.subs.retryingStale(async () => {
      const s = await this.subs.load(subId);
      const item = s.items.find((i) => i.id === itemId);
      if (!item) throw notFound('subscription_item', itemId);
      const now = await this.time.now(s.test_clock);
      const priceChange = change.price && change.price !== item.price.id ? await this.catalog.get(change.price) : undefined;
      // Usage so far at the old price matters only when flexible mode bills it.
      const needsUsage =
        (change.delete || priceChange) && isMetered(item.price) && s.billing_mode.type === 'flexible' && change.proration !== 'none';
      const usage_lines = needsUsage ? await this.subs.usageLines(s, [{ item, start: item.current_period_start }], now) : [];
      const product_names = Object.fromEntries(
        await this.rating.productNames([item.price.product, ...(priceChange ? [priceChange.product] : [])]),
      );
      const common = {
        now,
        item: itemId,
        proration_behavior: change.proration,
        usage_lines,
        invoice_item_ids: this.subs.invoiceItemIds(s),
        product_names,
        ...(change.proration_date !== undefined ? { proration_date: change.proration_date } : {}),
      };
      if (change.delete) return this.subs.run(subId, { type: 'DeleteItem', ...common }, req);
      return this.subs.run(
        subId,
        {
          type: 'UpdateItem',
          ...common,
          ...(priceChange ? { price: priceChange } : {}),
          ...(change.quantity !== undefined ? { quantity: change.quantity } : {}),
          ...(change.metadata !== undefined ? { metadata: applyMetadata(item.metadata, change.metadata) } : {}),
        },
        req,
      );
    });
    if (s.pending_invoices.length === 0) return s;
    // The change's invoice items (and an always_invoice invoice): now if invoicing answers, else by the scheduler's retry.
    await this.subs.flushPending(s.id);
    return this.subs.load(s.id);
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
    refuseItemThresholds(p);
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
    refuseItemThresholds(p);
    const subId = await this.queries.subscriptionOfItem(id);
    const prorationDate = timestamp(p, 'proration_date') ?? undefined;
    const price = str(p, 'price');
    const quantity = int(p, 'quantity', { min: 0 });
    const md = metadata(p);
    const s = await this.changeItem(req, subId, id, {
      proration: enumOf(p, 'proration_behavior', PRORATION) ?? 'create_prorations',
      ...(prorationDate !== undefined ? { proration_date: prorationDate } : {}),
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
    const prorationDate = timestamp(p, 'proration_date') ?? undefined;
    await this.changeItem(req, subId, id, {
      delete: true,
      proration: enumOf(p, 'proration_behavior', PRORATION) ?? 'create_prorations',
      ...(prorationDate !== undefined ? { proration_date: prorationDate } : {}),
    });
    return { id, object: 'subscription_item' as const, deleted: true as const };
  }
}
