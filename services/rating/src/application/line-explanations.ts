import { Inject, Injectable } from '@nestjs/common';
import {
  INGESTION_OPS,
  type ExplainLinesReply,
  type ExplainLinesRequest,
  type UsageQueryReply,
  type UsageQueryRequest,
} from '@meterflow/contracts';
import type { RatedLine } from '@meterflow/contracts';
import type { RpcClient } from '@meterflow/messaging';
import { DomainError } from '@meterflow/kernel';
import { CONFIG, RPC_CLIENT } from '@meterflow/service-kit';
import { billedBefore, type Billed } from '../domain/billing-threshold.js';
import { pricingTerms, type PriceObject } from '../domain/price.js';
import type { SubscriptionState } from '../domain/subscription.types.js';
import { explainLicensed, explainProration, explainRating, pricingDoc, prorationPart } from '../domain/rating-explanation.js';
import type { RatingEnv } from '../rating.definition.js';
import { READ_MODELS, SUBSCRIPTION_HISTORY, type RatingReadModels, type SubscriptionHistory } from './ports.js';

type Usage = UsageQueryReply['results'][string];

/**
 * `billing.explain_lines`: how each line of an invoice was rated (issue 8 item 10). A usage line
 * is rated again over its window with what meter-ingestion holds now (aggregate and event count
 * in one `usage.query`); a licensed line from its quantity. Rating's own math and steps
 * (domain/rating-explanation.ts); a price rating does not know explains nothing.
 */
@Injectable()
export class LineExplanations {
  constructor(
    @Inject(READ_MODELS) private readonly models: RatingReadModels,
    @Inject(RPC_CLIENT) private readonly rpc: RpcClient,
    @Inject(CONFIG) private readonly config: RatingEnv,
    @Inject(SUBSCRIPTION_HISTORY) private readonly history: SubscriptionHistory,
  ) {}

  /** The lines of the threshold invoices of these subscriptions (issue 8 item 6), from their streams. */
  private async thresholdLines(subscriptions: readonly string[]): Promise<Map<string, RatedLine[]>> {
    const out = new Map<string, RatedLine[]>();
    for (const e of await this.history.eventsOfType(subscriptions, 'SubscriptionThresholdInvoiced')) {
      const { lines } = (e.data as { invoice: { lines: RatedLine[] } }).invoice;
      out.set(e.streamId, [...(out.get(e.streamId) ?? []), ...lines.filter((l) => l.meter !== null)]);
    }
    return out;
  }

  async explain(req: ExplainLinesRequest): Promise<ExplainLinesReply> {
    const prices = await this.models.prices.getMany([...new Set(req.lines.map((l) => l.price))]);
    const priceOf = (id: string): PriceObject | null => (prices.get(id)?.state as PriceObject | null | undefined) ?? null;
    const queries: UsageQueryRequest['queries'] = [];
    for (const l of req.lines) {
      const meter = priceOf(l.price)?.recurring?.meter;
      if (l.basis === 'usage' && meter && l.period.end > l.period.start)
        queries.push({ key: l.key, meter, customer: req.customer, start: l.period.start, end: l.period.end });
    }
    const prorated = [...new Set(req.lines.flatMap((l) => (l.proration && l.subscription ? [l.subscription] : [])))];
    const [usage, thresholds, subs] = await Promise.all([
      this.usage(queries),
      this.thresholdLines([...new Set(req.lines.flatMap((l) => (l.basis === 'usage' && l.subscription ? [l.subscription] : [])))]),
      prorated.length > 0 ? this.models.subscriptions.getMany(prorated) : Promise.resolve(new Map()),
    ]);
    // What threshold invoices issued before this line billed of its window (a threshold invoice's
    // own line is not among them: they end before it).
    const offsetOf = (l: (typeof req.lines)[number]): Billed | null => {
      const issued = (l.subscription ? thresholds.get(l.subscription) : undefined)?.filter((t) => t.period.end < l.period.end) ?? [];
      if (issued.length === 0 || !l.subscription_item) return null;
      const b = billedBefore(issued, { subscription_item: l.subscription_item, price: l.price, period: l.period } as RatedLine);
      return b.quantity === 0 && b.amount === 0 ? null : b;
    };
    const results: ExplainLinesReply['results'] = {};
    for (const l of req.lines) {
      const price = priceOf(l.price);
      if (!price) {
        results[l.key] = { pricing: null, usage: null, rating: null, rerated_amount: null };
        continue;
      }
      const terms = pricingTerms(price);
      if (l.basis === 'quantity') {
        // A proration invoice item: the part of the period it bills, told again from the subscription (issue 8 item 7).
        const sub = l.proration && l.subscription ? (subs.get(l.subscription)?.state as SubscriptionState | null | undefined) : null;
        const rating = l.proration
          ? explainProration(terms, l.quantity, l.amount, sub ? prorationPart(sub, l) : null)
          : explainLicensed(terms, l.quantity, l.amount);
        results[l.key] = { pricing: pricingDoc(terms), usage: null, rating, rerated_amount: rating.proration ? null : rating.amount };
        continue;
      }
      const u: Usage = usage.get(l.key) ?? { value: '0', formula: 'sum', events: 0 };
      const meter = price.recurring?.meter ?? null;
      const offset = offsetOf(l);
      // The window is rated whole; the line bills that less what threshold invoices billed of it.
      const aggregate = String(Math.max(l.quantity ?? 0, 0) + (offset?.quantity ?? 0));
      const rated = explainRating(terms, aggregate);
      results[l.key] = {
        pricing: pricingDoc(terms),
        usage: meter
          ? {
              meter,
              formula: u.formula,
              window: l.period,
              rated_aggregate: aggregate,
              event_store: { aggregate: u.value, events: u.events ?? 0 },
            }
          : null,
        rating: rated,
        rerated_amount: Math.max(0, explainRating(terms, u.value).amount - (offset?.amount ?? 0)),
        ...(offset ? { threshold_offset: offset } : {}),
      };
    }
    return { results };
  }

  private async usage(queries: UsageQueryRequest['queries']): Promise<Map<string, Usage>> {
    if (queries.length === 0) return new Map();
    try {
      const reply = await this.rpc.request<UsageQueryReply>(
        'meter-ingestion',
        INGESTION_OPS.usageQuery,
        { queries } satisfies UsageQueryRequest,
        {
          timeoutMs: this.config.RATING_RPC_TIMEOUT_MS,
        },
      );
      return new Map(Object.entries(reply.results));
    } catch (e) {
      // A meter ingestion no longer knows: ask per line, and such a line has no usage.
      if (!(e instanceof DomainError) || e.status !== 404 || queries.length === 1) {
        if (e instanceof DomainError && e.status === 404) return new Map();
        throw e;
      }
      const parts = await Promise.all(queries.map((q) => this.usage([q])));
      return new Map(parts.flatMap((p) => [...p]));
    }
  }
}
