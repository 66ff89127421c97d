import { Inject, Injectable } from '@nestjs/common';
import type { RatedLine } from '@meterflow/contracts';
import type { CommandPipeline } from '@meterflow/event-store';
import { CONFIG } from '@meterflow/service-kit';
import { evaluatesThreshold, thresholdWindows } from '../domain/subscription-threshold.js';
import { isMetered } from '../domain/price.js';
import type { RatingEnv } from '../rating.definition.js';
import { RatingAggregates } from './aggregates.js';
import { PeriodCloseService } from './period-close.service.js';
import { PIPELINE, READ_MODELS, SUBSCRIPTION_SCHEDULE, type RatingReadModels, type SubscriptionSchedule } from './ports.js';
import { UsageRatingService } from './usage-rating.service.js';

/**
 * Where billing thresholds are checked (issue 8 item 6; docs/lifecycle.md "Billing thresholds"):
 * not on the ingest hot path, but by a periodic evaluation in rating. Every
 * RATING_THRESHOLD_INTERVAL_MS (real time), and at each step of a test clock's advance (its
 * first step is one second after the clock's frozen time, so usage reported at the frozen time
 * counts), each active subscription with `billing_thresholds` has its usage so far rated (one
 * usage query per batch) and the threshold decided by the subscription aggregate; the invoices
 * are then handed to invoicing like any other subscription invoice.
 */
@Injectable()
export class ThresholdInvoicing {
  constructor(
    @Inject(PIPELINE) private readonly pipeline: CommandPipeline,
    @Inject(READ_MODELS) private readonly models: RatingReadModels,
    @Inject(SUBSCRIPTION_SCHEDULE) private readonly schedule: SubscriptionSchedule,
    @Inject(CONFIG) private readonly config: RatingEnv,
    private readonly types: RatingAggregates,
    private readonly rating: UsageRatingService,
    private readonly periods: PeriodCloseService,
  ) {}

  /**
   * Test clocks: the first step of an advance (`after` = the clock's frozen time) evaluates
   * thresholds one second later, when the clock has subscriptions with thresholds.
   */
  async nextDue(clock: string, frozenTime: number, after: number, upTo: number): Promise<number | null> {
    if (after !== frozenTime || after + 1 > upTo) return null;
    return (await this.schedule.hasThresholds(clock)) ? after + 1 : null;
  }

  /** Evaluate every threshold of subscriptions on `clock` (null: without one) at `at`. Returns how many invoiced. */
  async runDue(clock: string | null, at: number): Promise<number> {
    let invoiced = 0;
    let last = '';
    for (;;) {
      const ids = await this.schedule.withThresholds(clock, last, this.config.RATING_CLOSE_BATCH_SIZE);
      if (ids.length === 0) break;
      invoiced += await this.evaluate(ids, at);
      last = ids.at(-1)!;
      if (ids.length < this.config.RATING_CLOSE_BATCH_SIZE) break;
    }
    return invoiced;
  }

  /** One batch: rate, decide and record in one unit, then hand the new invoices over. */
  async evaluate(ids: readonly string[], at: number): Promise<number> {
    const loaded = await this.models.subscriptions.getMany(ids);
    const work = [...loaded.values()].flatMap((l) => (l.state && evaluatesThreshold(l.state, at) ? [l.state] : []));
    if (work.length === 0) return 0;
    const windows = work.flatMap((s) =>
      thresholdWindows(s, at).map((w) => ({
        key: `${s.id}|${w.item.id}`,
        customer: s.customer,
        subscription_item: w.item.id,
        price: w.item.price,
        start: w.start,
        end: w.end,
      })),
    );
    const [rated, names] = await Promise.all([
      this.rating.rate(windows),
      this.rating.productNames(work.flatMap((s) => s.items.filter((i) => !isMetered(i.price)).map((i) => i.price.product))),
    ]);
    const product_names = Object.fromEntries(names);
    const type = this.types.subscription;
    const invoiced = await this.pipeline.run(
      async (uow) => {
        await uow.preload(
          type,
          work.map((s) => s.id),
        );
        const out: string[] = [];
        for (const s of work) {
          const lines = windows
            .filter((w) => w.key.startsWith(`${s.id}|`))
            .flatMap((w): RatedLine[] => {
              const l = rated.get(w.key);
              return l ? [l] : [];
            });
          // A state changed since the rating (a repriced item) is decided on its own windows: the
          // threshold module ignores lines of windows the subscription no longer has.
          const { events } = uow.executeLoaded(type, s.id, { type: 'InvoiceThreshold', now: at, lines, product_names });
          if (events.length > 0) out.push(s.id);
        }
        return out;
      },
      {},
      { attempts: 3 },
    );
    if (invoiced.length > 0) await this.periods.flushPending(invoiced).catch(() => undefined);
    return invoiced.length;
  }
}
