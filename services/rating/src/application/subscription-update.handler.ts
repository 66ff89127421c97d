import { Injectable } from '@nestjs/common';
import type { ApiRequest } from '@meterflow/contracts';
import { applyMetadata, bool, enumOf, int, metadata, obj, objArr, rejectUnknown, str, timestamp, type Params } from '@meterflow/stripe-api';
import type { SubscriptionAnyCommand } from '../domain/subscription.aggregate.js';
import { meteredWindows, type SubscriptionCommand } from '../domain/subscription.decider.js';
import { CANCELLATION_FEEDBACK, type SubscriptionState } from '../domain/subscription.types.js';
import { toStripeSubscription } from '../domain/subscription.view.js';
import { readBillingThresholds, refuseItemThresholds } from './billing-thresholds.params.js';
import { PeriodCloseService } from './period-close.service.js';
import { SubscriptionItemsHandler } from './subscription-items.handler.js';
import { IGNORED, PRORATION, SubscriptionWrites } from './subscription-writes.js';
import { TimeService } from './time.service.js';
import { UsageRatingService } from './usage-rating.service.js';

type UpdateCommand = Extract<SubscriptionCommand, { type: 'UpdateSubscription' }>;

/**
 * `subscriptions.update` (item changes, then metadata/description/cancellation scheduling, then
 * `billing_cycle_anchor=now`) and `subscriptions.migrate` (billing mode).
 */
@Injectable()
export class SubscriptionUpdateHandler {
  constructor(
    private readonly subs: SubscriptionWrites,
    private readonly items: SubscriptionItemsHandler,
    private readonly time: TimeService,
    private readonly rating: UsageRatingService,
    private readonly periods: PeriodCloseService,
  ) {}

  async update(req: ApiRequest) {
    const id = req.path.id ?? '';
    const p = req.params;
    rejectUnknown(p, [
      'metadata',
      'description',
      'cancel_at',
      'cancel_at_period_end',
      'cancellation_details',
      'proration_behavior',
      'items',
      'billing_cycle_anchor',
      'billing_thresholds',
      ...IGNORED,
    ]);
    const s0 = await this.subs.load(id);
    const now = await this.time.now(s0.test_clock);
    const proration = enumOf(p, 'proration_behavior', PRORATION) ?? 'create_prorations';
    const anchor = enumOf(p, 'billing_cycle_anchor', ['now', 'unchanged'] as const);
    const prorationDate = timestamp(p, 'proration_date');
    const dated = prorationDate !== undefined && prorationDate !== null ? { proration_date: prorationDate } : {};

    // billing_thresholds are set before the item changes when they are removed or raised, after
    // them when lowered: each step keeps Stripe's floor (amount_gte above the licensed items' cost).
    const thresholds = readBillingThresholds(p);
    const thresholdsFirst =
      thresholds !== undefined && (thresholds === null || thresholds.amount_gte >= (s0.billing_thresholds?.amount_gte ?? 0));
    if (thresholdsFirst) await this.subs.run(id, { type: 'SetBillingThresholds', now, billing_thresholds: thresholds }, req);

    // Item changes next, each as its own command (they bill usage at their own time).
    for (const it of objArr(p, 'items') ?? []) {
      rejectUnknown(it, ['id', 'price', 'quantity', 'deleted', 'metadata', 'clear_usage', 'tax_rates', 'discounts', 'billing_thresholds']);
      refuseItemThresholds(it);
      const itemId = str(it, 'id');
      if (!itemId) {
        const item = await this.subs.readItem(Object.fromEntries(Object.entries(it).filter(([k]) => k !== 'clear_usage')));
        await this.items.addItem(req, id, item, now, proration);
      } else if (bool(it, 'deleted')) await this.items.changeItem(req, id, itemId, { delete: true, proration, ...dated });
      else {
        const priceId = str(it, 'price');
        const quantity = int(it, 'quantity', { min: 0 });
        const md = metadata(it);
        await this.items.changeItem(req, id, itemId, {
          proration,
          ...dated,
          ...(priceId ? { price: priceId } : {}),
          ...(quantity != null ? { quantity } : {}),
          ...(md !== undefined ? { metadata: md } : {}),
        });
      }
    }

    const cmd = await this.updateCommand(id, p, now);
    const touched = Object.keys(cmd).length > 2;
    // billing_thresholds ('' removes them) lowered: in the same change as the other fields.
    const commands: SubscriptionAnyCommand[] = [
      ...(touched ? [cmd] : []),
      ...(thresholds !== undefined && !thresholdsFirst
        ? [{ type: 'SetBillingThresholds' as const, now, billing_thresholds: thresholds }]
        : []),
    ];
    let s =
      commands.length === 0
        ? await this.subs.load(id)
        : await this.subs.run(id, commands.length === 1 ? commands[0]! : { type: 'Sequence', commands }, req);
    if (anchor === 'now') s = await this.resetAnchor(req, s, now);
    return toStripeSubscription(s);
  }

  /** The `UpdateSubscription` command of the params (only `type` and `now` when none is given). */
  private async updateCommand(id: string, p: Params, now: number): Promise<UpdateCommand> {
    const cmd: UpdateCommand = { type: 'UpdateSubscription', now };
    const md = metadata(p);
    if (md !== undefined) cmd.metadata = applyMetadata((await this.subs.load(id)).metadata, md);
    const description = str(p, 'description', { maxLength: 500 });
    if (description !== undefined) cmd.description = description;
    const cape = bool(p, 'cancel_at_period_end');
    if (cape != null) cmd.cancel_at_period_end = cape;
    if (p.cancel_at !== undefined) {
      const v = p.cancel_at;
      if (v === 'max_period_end' || v === 'min_period_end') cmd.cancel_at = (await this.subs.load(id)).period.end;
      else cmd.cancel_at = timestamp(p, 'cancel_at') ?? null;
    }
    const cd = obj(p, 'cancellation_details');
    if (cd) {
      rejectUnknown(cd, ['comment', 'feedback']);
      const comment = str(cd, 'comment', { maxLength: 5000 });
      const feedback = enumOf(cd, 'feedback', CANCELLATION_FEEDBACK);
      cmd.cancellation_details = {
        ...(comment !== undefined ? { comment } : {}),
        ...(feedback !== undefined ? { feedback } : {}),
      };
    }
    return cmd;
  }

  /** `billing_cycle_anchor=now`: the current period ends now, its usage is invoiced at once and a new cycle starts. */
  private async resetAnchor(req: ApiRequest, s0: SubscriptionState, now: number): Promise<SubscriptionState> {
    await this.subs.retryingStale(async () => {
      const s = await this.subs.load(s0.id);
      const lines = await this.subs.usageLines(
        s,
        meteredWindows(s, now).map((w) => ({ item: w.item, start: w.start })),
        now,
      );
      const product_names = Object.fromEntries(await this.rating.productNames(s.items.map((i) => i.price.product)));
      return this.subs.run(s.id, { type: 'ResetBillingCycleAnchor', now, lines, product_names }, req);
    });
    const s = s0;
    await this.periods.flushPending([s.id]).catch(() => undefined);
    return this.subs.load(s.id);
  }

  async migrate(req: ApiRequest) {
    const id = req.path.id ?? '';
    rejectUnknown(req.params, ['billing_mode']);
    const mode = obj(req.params, 'billing_mode', { required: true });
    enumOf(mode, 'type', ['flexible'] as const, { required: true });
    const s0 = await this.subs.load(id);
    const now = await this.time.now(s0.test_clock);
    return toStripeSubscription(await this.subs.run(id, { type: 'MigrateBillingMode', now }, req));
  }
}
