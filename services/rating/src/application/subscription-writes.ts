import { Inject, Injectable } from '@nestjs/common';
import type { ApiRequest } from '@meterflow/contracts';
import type { CommandPipeline } from '@meterflow/event-store';
import { DomainError, newId, notFound } from '@meterflow/kernel';
import { applyMetadata, int, metadata, paramName, rejectUnknown, str, type Params } from '@meterflow/stripe-api';
import { isMetered } from '../domain/price.js';
import type { SubscriptionUnitCommand } from '../domain/subscription.aggregate.js';
import { dueClosing, type NewItem } from '../domain/subscription.decider.js';
import type { SubscriptionItemState, SubscriptionState } from '../domain/subscription.types.js';
import { refuseItemThresholds } from './billing-thresholds.params.js';
import { RatingAggregates } from './aggregates.js';
import { PeriodCloseService } from './period-close.service.js';
import { PIPELINE, READ_MODELS, type RatingReadModels } from './ports.js';
import { PricesHandler } from './prices.handler.js';
import { requestContext } from './stripe-facts.js';
import { TimeService } from './time.service.js';
import { UsageRatingService } from './usage-rating.service.js';

export const PRORATION = ['create_prorations', 'always_invoice', 'none'] as const;
/** Accepted for SDK compatibility; payments are outside Meterflow. */
export const IGNORED = [
  'payment_behavior',
  'collection_method',
  'days_until_due',
  'default_payment_method',
  'off_session',
  'proration_date',
];

/**
 * What every subscription use case shares: loading one, running a command against it through the
 * pipeline, reading a new item's params, rating usage up to "now".
 */
@Injectable()
export class SubscriptionWrites {
  constructor(
    @Inject(PIPELINE) private readonly pipeline: CommandPipeline,
    @Inject(READ_MODELS) private readonly models: RatingReadModels,
    private readonly types: RatingAggregates,
    private readonly catalog: PricesHandler,
    private readonly time: TimeService,
    private readonly rating: UsageRatingService,
    private readonly periods: PeriodCloseService,
  ) {}

  async load(id: string): Promise<SubscriptionState> {
    const state = await this.models.subscriptions.get(id);
    if (!state) throw notFound('subscription', id);
    return this.closedUpToNow(state);
  }

  /**
   * A period that ended but that the real-time scheduler has not closed yet is closed first: a
   * change lands on the period it is made in, and the decider refuses one made before the close
   * (domain/subscription.close-pending.ts). Test clocks close everything due before they are ready.
   */
  private async closedUpToNow(state: SubscriptionState): Promise<SubscriptionState> {
    if (state.test_clock !== null || state.status !== 'active') return state;
    const now = await this.time.now(null);
    let s = state;
    for (let i = 0; i < 36 && dueClosing(s, now); i++) {
      if ((await this.periods.closeBatch([s.id], now)) === 0) break;
      s = (await this.models.subscriptions.get(s.id)) ?? s;
    }
    return s;
  }

  /** Run a command against one subscription, recording the Stripe events it causes. */
  async run(id: string, command: SubscriptionUnitCommand, req: ApiRequest): Promise<SubscriptionState> {
    const first = command.type === 'Sequence' ? command.commands[0] : command;
    const { state } = await this.pipeline.run(async (uow) => {
      if (!(await uow.load(this.types.subscription, id)) && first?.type !== 'CreateSubscription') throw notFound('subscription', id);
      return uow.executeLoaded(this.types.subscription, id, command);
    }, requestContext(req));
    return state!;
  }

  /**
   * A period close committed between a change's read and its decision: the decider refused the
   * usage rated on the old windows (subscription_usage_stale). Read, rate and decide again.
   */
  async retryingStale<T>(attempt: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await attempt();
      } catch (e) {
        if (i >= 4 || !(e instanceof DomainError) || e.code !== 'subscription_usage_stale') throw e;
      }
    }
  }

  /** Fresh invoice item ids for a change of `s` (enough for every item's usage, credits and charge). */
  invoiceItemIds(s: SubscriptionState): string[] {
    const n = 4 + s.items.reduce((k, it) => k + 2 + (it.debits?.length ?? 1), 0);
    return Array.from({ length: n }, () => newId('invoiceItem'));
  }

  /** Hand the subscription's pending invoices (a change's invoice items) to invoicing; left to the scheduler's retry if it does not answer. */
  async flushPending(id: string): Promise<void> {
    await this.periods.flushPending([id]).catch(() => undefined);
  }

  async readItem(p: Params): Promise<NewItem> {
    rejectUnknown(p, ['price', 'quantity', 'metadata', 'tax_rates', 'discounts', 'billing_thresholds']);
    refuseItemThresholds(p);
    const priceId = str(p, 'price', { required: true });
    const price = await this.catalog.get(priceId, paramName(p, 'price'));
    const quantity = int(p, 'quantity', { min: 0 });
    const md = metadata(p);
    return {
      id: newId('subscriptionItem'),
      price,
      ...(quantity != null ? { quantity } : {}),
      ...(md ? { metadata: applyMetadata({}, md) } : {}),
    };
  }

  /** Rated usage of items from their start to the subscription's "now". */
  async usageLines(s: SubscriptionState, items: { item: SubscriptionItemState; start: number }[], end?: number) {
    const now = end ?? (await this.time.now(s.test_clock));
    const windows = items
      .filter((i) => isMetered(i.item.price))
      .map((i) => ({ key: i.item.id, customer: s.customer, subscription_item: i.item.id, price: i.item.price, start: i.start, end: now }));
    const rated = await this.rating.rate(windows);
    return [...rated.values()];
  }
}
