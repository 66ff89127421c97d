import { Inject, Injectable } from '@nestjs/common';
import type { ApiRequest } from '@meterflow/contracts';
import { DomainError } from '@meterflow/kernel';
import { bool, enumOf, obj, rejectUnknown, str } from '@meterflow/stripe-api';
import { meteredWindows } from '../domain/subscription.decider.js';
import { CANCELLATION_FEEDBACK } from '../domain/subscription.types.js';
import { toStripeSubscription } from '../domain/subscription.view.js';
import { PeriodCloseService } from './period-close.service.js';
import { SUBSCRIPTION_INDEX, type SubscriptionIndex } from './ports.js';
import { SubscriptionWrites } from './subscription-writes.js';
import { TimeService } from './time.service.js';
import { UsageRatingService } from './usage-rating.service.js';

/** Cancelling now: `subscriptions.cancel`, and every subscription of a deleted customer. */
@Injectable()
export class SubscriptionCancelHandler {
  constructor(
    @Inject(SUBSCRIPTION_INDEX) private readonly index: SubscriptionIndex,
    private readonly subs: SubscriptionWrites,
    private readonly time: TimeService,
    private readonly periods: PeriodCloseService,
    private readonly rating: UsageRatingService,
  ) {}

  async cancel(req: ApiRequest) {
    const id = req.path.id ?? '';
    const p = req.params;
    rejectUnknown(p, ['invoice_now', 'prorate', 'cancellation_details']);
    const s0 = await this.subs.load(id);
    if (s0.status === 'canceled') throw new DomainError('resource_missing', `No such subscription: '${id}'`, { status: 404, param: 'id' });
    const now = await this.time.now(s0.test_clock);
    const invoiceNow = bool(p, 'invoice_now') ?? false;
    const prorate = bool(p, 'prorate') ?? false;
    const cd = obj(p, 'cancellation_details');
    const s = await this.subs.retryingStale(async () => {
      const s1 = await this.subs.load(id);
      const lines = invoiceNow
        ? await this.subs.usageLines(
            s1,
            meteredWindows(s1, now).map((w) => ({ item: w.item, start: w.start })),
            now,
          )
        : [];
      const product_names = prorate ? Object.fromEntries(await this.rating.productNames(s1.items.map((i) => i.price.product))) : {};
      return this.subs.run(
        id,
        {
          type: 'Cancel',
          now,
          invoice_now: invoiceNow,
          prorate,
          ...(cd
            ? {
                cancellation_details: {
                  comment: str(cd, 'comment') ?? null,
                  feedback: enumOf(cd, 'feedback', CANCELLATION_FEEDBACK) ?? null,
                },
              }
            : {}),
          lines,
          ...(prorate ? { invoice_item_ids: this.subs.invoiceItemIds(s1), product_names } : {}),
        },
        req,
      );
    });
    // The final invoice: handed over now if invoicing answers, else by the scheduler's retry.
    if (s.pending_invoices.length > 0) await this.periods.flushPending([id]).catch(() => undefined);
    return toStripeSubscription(await this.subs.load(s.id));
  }

  /** Deleting a customer cancels its subscriptions at once (no final invoice, like Stripe). */
  async cancelAllOf(customer: string, req: ApiRequest): Promise<void> {
    for (const id of await this.index.activeOfCustomer(customer)) {
      const s = await this.subs.load(id);
      const now = await this.time.now(s.test_clock);
      await this.subs.run(id, { type: 'Cancel', now, invoice_now: false, prorate: false, lines: [] }, req);
    }
  }
}
