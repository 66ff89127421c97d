import type { CreateSubscriptionInvoiceRequest, RatedLine, RatePeriodReply, RatePeriodRequest, RpcReply } from '@meterflow/contracts';
import { DomainError, notFound } from '@meterflow/kernel';
import { Inject, Injectable } from '@nestjs/common';
import { billedBefore, lessBilled } from '../domain/billing-threshold.js';
import type { PriceObject } from '../domain/price.js';
import type { SubscriptionState } from '../domain/subscription.types.js';
import { READ_MODELS, SUBSCRIPTION_HISTORY, type RatingReadModels, type SubscriptionHistory } from './ports.js';
import { UsageRatingService, type UsageWindow } from './usage-rating.service.js';

/** The subscription events that carry invoice requests (the only ones re-rating reads in full). */
const INVOICE_EVENTS = [
  'SubscriptionCreated',
  'SubscriptionPeriodClosed',
  'SubscriptionCanceled',
  'SubscriptionBillingCycleAnchorReset',
  'SubscriptionThresholdInvoiced',
];

/** What one subscription's stream tells re-rating. `null`: the stream does not exist. */
interface StreamFacts {
  customer: string;
  /** Every invoice request, in stream order. */
  invoices: CreateSubscriptionInvoiceRequest[];
  /** The lines of every threshold invoice (re-rated lines bill net of them). */
  thresholdLines: RatedLine[];
}

/**
 * `billing.rate_period(s)`: the lines of closed periods rated again with the usage known now
 * (invoicing calls it when it finalizes, so usage that arrived in the grace period counts).
 * A batch costs three round trips whatever its size: one read of all the subscriptions' streams,
 * one load of all the prices, one `UsageRatingService.rate` (usage queries of up to 1,000 windows).
 * The single op is a batch of one.
 */
@Injectable()
export class PeriodRerating {
  constructor(
    @Inject(READ_MODELS) private readonly models: RatingReadModels,
    @Inject(SUBSCRIPTION_HISTORY) private readonly history: SubscriptionHistory,
    private readonly rating: UsageRatingService,
  ) {}

  /** One request; throws what the batch would answer as its error. */
  async ratePeriod(req: RatePeriodRequest): Promise<RatePeriodReply> {
    const [reply] = await this.ratePeriods([req]);
    if (!reply!.ok) throw DomainError.fromShape(reply!.error);
    return reply!.result;
  }

  /**
   * One reply per request, same order: the re-rated lines, or the request's own error (unknown
   * subscription, period never closed). A failure shared by the whole batch (database, usage
   * query) is thrown.
   */
  async ratePeriods(requests: readonly RatePeriodRequest[]): Promise<RpcReply<RatePeriodReply>[]> {
    const streams = await this.readStreams([...new Set(requests.map((r) => r.subscription))]);
    const found = requests.map((req): { invoice: CreateSubscriptionInvoiceRequest; customer: string } | DomainError => {
      const facts = streams.get(req.subscription);
      if (!facts) return notFound('subscription', req.subscription, 'subscription');
      const invoice = pickInvoice(facts.invoices, req);
      if (!invoice)
        return new DomainError(
          'period_not_closed',
          `Subscription ${req.subscription} has no closed period [${req.period_start}, ${req.period_end})${req.billing_reason ? ` billed as ${req.billing_reason}` : ''}.`,
          { status: 404 },
        );
      return { invoice, customer: facts.customer };
    });

    const priceIds = new Set<string>();
    for (const f of found) if (!(f instanceof DomainError)) for (const l of f.invoice.lines) priceIds.add(l.price);
    const prices = await this.models.prices.getMany([...priceIds]);

    // Lines re-rated from usage are keyed `<request index>|<line index>`; the others stay as closed.
    const windows: UsageWindow[] = [];
    found.forEach((f, r) => {
      if (f instanceof DomainError) return;
      f.invoice.lines.forEach((l, i) => {
        const price = prices.get(l.price)?.state as PriceObject | null | undefined;
        // A threshold invoice keeps what it billed when the threshold was reached (issue 8 item 6).
        if (price && l.meter !== null && f.invoice.billing_reason !== 'subscription_threshold')
          windows.push({
            key: `${r}|${i}`,
            customer: f.customer,
            subscription_item: l.subscription_item,
            price,
            start: l.period.start,
            end: l.period.end,
          });
      });
    });
    const rated = await this.rating.rate(windows);
    const reRated = new Set(windows.map((w) => w.key));

    return found.map((f, r): RpcReply<RatePeriodReply> => {
      if (f instanceof DomainError) return { ok: false, error: f.toShape() };
      const thresholds = streams.get(f.invoice.subscription)?.thresholdLines ?? [];
      const lines = f.invoice.lines.map((l, i): RatedLine => {
        const key = `${r}|${i}`;
        if (!reRated.has(key)) return l;
        const line = rated.get(key)!;
        // The usage of the line's window, less what the period's threshold invoices billed of it.
        return lessBilled({ ...line, description: line.description ?? l.description }, billedBefore(thresholds, line));
      });
      return { ok: true, result: { lines } };
    });
  }

  /**
   * The invoice requests of each subscription stream, in one read. Every stream row is read
   * (existence), but only the events carrying invoice requests bring their data.
   */
  private async readStreams(ids: readonly string[]): Promise<Map<string, StreamFacts>> {
    const out = new Map<string, StreamFacts>();
    for (const e of await this.history.events(ids, INVOICE_EVENTS)) {
      let facts = out.get(e.streamId);
      if (!facts) out.set(e.streamId, (facts = { customer: '', invoices: [], thresholdLines: [] }));
      if (e.type === 'SubscriptionCreated') {
        const sub = (e.data as { subscription: SubscriptionState }).subscription;
        facts.customer = sub.customer;
        facts.invoices.push(...sub.pending_invoices);
      } else if (INVOICE_EVENTS.includes(e.type)) {
        const invoice = (e.data as { invoice: CreateSubscriptionInvoiceRequest | null }).invoice;
        if (invoice) facts.invoices.push(invoice);
        if (invoice?.billing_reason === 'subscription_threshold')
          facts.thresholdLines.push(...invoice.lines.filter((l) => l.meter !== null));
      }
    }
    return out;
  }
}

/**
 * The latest invoice request for the period (and billing reason, when given). A creation invoice
 * and the first cycle invoice can share their period: the caller's billing_reason tells them
 * apart (without it, the cycle one, later, wins).
 */
function pickInvoice(
  invoices: readonly CreateSubscriptionInvoiceRequest[],
  req: RatePeriodRequest,
): CreateSubscriptionInvoiceRequest | null {
  let picked: CreateSubscriptionInvoiceRequest | null = null;
  for (const inv of invoices) {
    if (inv.period_start !== req.period_start || inv.period_end !== req.period_end) continue;
    if (req.billing_reason === undefined || inv.billing_reason === req.billing_reason) picked = inv;
  }
  return picked;
}
