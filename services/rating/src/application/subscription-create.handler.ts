import { Injectable } from '@nestjs/common';
import type { ApiRequest } from '@meterflow/contracts';
import { DomainError, newId, notFound } from '@meterflow/kernel';
import { applyMetadata, bool, enumOf, int, metadata, obj, objArr, rejectUnknown, str, timestamp, type Params } from '@meterflow/stripe-api';
import type { AnchorConfig } from '../domain/billing-period.js';
import { billsBackdatedUsageAtCreation } from '../domain/creation-invoice.js';
import { isMetered } from '../domain/price.js';
import type { CreateSubscriptionInput } from '../domain/subscription.decider.js';
import { toStripeSubscription } from '../domain/subscription.view.js';
import { readBillingThresholds } from './billing-thresholds.params.js';
import { CustomersHandler } from './customers.handler.js';
import { PeriodCloseService } from './period-close.service.js';
import { IGNORED, PRORATION, SubscriptionWrites } from './subscription-writes.js';
import { TimeService } from './time.service.js';
import { UsageRatingService } from './usage-rating.service.js';

/** `billing_cycle_anchor_config`, validated. */
function anchorConfig(cfg: Params): AnchorConfig {
  rejectUnknown(cfg, ['day_of_month', 'hour', 'minute', 'second', 'month']);
  const c: AnchorConfig = { day_of_month: int(cfg, 'day_of_month', { required: true, min: 1, max: 31 }) };
  const hour = int(cfg, 'hour', { min: 0, max: 23 });
  const minute = int(cfg, 'minute', { min: 0, max: 59 });
  const second = int(cfg, 'second', { min: 0, max: 59 });
  const month = int(cfg, 'month', { min: 1, max: 12 });
  if (hour != null) c.hour = hour;
  if (minute != null) c.minute = minute;
  if (second != null) c.second = second;
  if (month != null) c.month = month;
  return c;
}

/** `subscriptions.create`: the subscription, and its creation invoice handed over to invoicing. */
@Injectable()
export class SubscriptionCreateHandler {
  constructor(
    private readonly subs: SubscriptionWrites,
    private readonly customers: CustomersHandler,
    private readonly time: TimeService,
    private readonly rating: UsageRatingService,
    private readonly periods: PeriodCloseService,
  ) {}

  async create(req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, [
      'customer',
      'items',
      'billing_cycle_anchor',
      'billing_cycle_anchor_config',
      'backdate_start_date',
      'billing_mode',
      'proration_behavior',
      'cancel_at_period_end',
      'cancel_at',
      'metadata',
      'description',
      'currency',
      'billing_thresholds',
      ...IGNORED,
    ]);
    const customer = await this.customers.get(str(p, 'customer', { required: true })).catch((e: unknown) => {
      if (e instanceof DomainError && e.status === 404) throw notFound('customer', String(p.customer), 'customer');
      throw e;
    });
    const items = await Promise.all(objArr(p, 'items', { required: true }).map((i) => this.subs.readItem(i)));
    const now = await this.time.now(customer.test_clock);
    const input: CreateSubscriptionInput = {
      id: newId('subscription'),
      now,
      customer: { id: customer.id, test_clock: customer.test_clock },
      items,
    };
    const anchor = timestamp(p, 'billing_cycle_anchor');
    if (anchor != null) input.billing_cycle_anchor = anchor;
    const cfg = obj(p, 'billing_cycle_anchor_config');
    if (cfg) input.billing_cycle_anchor_config = anchorConfig(cfg);
    const backdate = timestamp(p, 'backdate_start_date');
    if (backdate != null) input.backdate_start_date = backdate;
    const mode = obj(p, 'billing_mode');
    if (mode) {
      rejectUnknown(mode, ['type', 'flexible']);
      input.billing_mode = enumOf(mode, 'type', ['classic', 'flexible'] as const, { required: true });
    }
    const proration = enumOf(p, 'proration_behavior', PRORATION);
    if (proration) input.proration_behavior = proration;
    input.product_names = Object.fromEntries(await this.rating.productNames(items.map((i) => i.price.product)));
    if (billsBackdatedUsageAtCreation(input.billing_mode ?? 'flexible', input.backdate_start_date, now, input.proration_behavior)) {
      // Flexible: the backdated usage of each metered item, rated on its own, for the creation invoice.
      const windows = items
        .filter((it) => isMetered(it.price))
        .map((it) => ({ key: it.id, customer: customer.id, subscription_item: it.id, price: it.price, start: backdate!, end: now }));
      input.backdated_lines = [...(await this.rating.rate(windows)).values()];
    }
    const cape = bool(p, 'cancel_at_period_end');
    if (cape != null) input.cancel_at_period_end = cape;
    const cancelAt = timestamp(p, 'cancel_at');
    if (cancelAt != null) input.cancel_at = cancelAt;
    const md = metadata(p);
    if (md) input.metadata = applyMetadata({}, md);
    const description = str(p, 'description', { maxLength: 500 });
    if (description) input.description = description;
    const thresholds = readBillingThresholds(p);
    // With billing_thresholds: set in the same change (one customer.subscription.created).
    let s = await this.subs.run(
      input.id,
      thresholds
        ? {
            type: 'Sequence',
            commands: [
              { type: 'CreateSubscription', input },
              { type: 'SetBillingThresholds', now, billing_thresholds: thresholds },
            ],
          }
        : { type: 'CreateSubscription', input },
      req,
    );
    // The creation invoice, handed over now if invoicing answers (else retried); invoicing
    // finalizes it at once, so it is the subscription's latest_invoice when this returns.
    if (s.pending_invoices.length > 0) {
      await this.periods.flushPending([s.id]).catch(() => undefined);
      s = await this.subs.load(s.id);
    }
    return toStripeSubscription(s);
  }
}
