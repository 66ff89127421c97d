import { Inject, Injectable } from '@nestjs/common';
import type {
  PreviewSubscriptionInvoiceReply,
  PreviewSubscriptionInvoiceRequest,
  RatedLine,
  SubscriptionInvoiceItem,
} from '@meterflow/contracts';
import { DomainError, invalid, newId, notFound } from '@meterflow/kernel';
import { bool, enumOf, int, obj, objArr, paramName, rejectUnknown, str, timestamp, type Params } from '@meterflow/stripe-api';
import { noUpcomingInvoice, previewOf, previewWindows, upcomingInvoice, type PreviewInvoice } from '../domain/invoice-preview.js';
import { isMetered, type PriceObject } from '../domain/price.js';
import { subscriptionDecider } from '../domain/subscription.aggregate.js';
import type { SubscriptionCommand } from '../domain/subscription.decider.js';
import type { ProrationBehavior, SubscriptionItemState, SubscriptionState } from '../domain/subscription.types.js';
import { READ_MODELS, SUBSCRIPTION_INDEX, type RatingReadModels, type SubscriptionIndex } from './ports.js';
import { TimeService } from './time.service.js';
import { UsageRatingService } from './usage-rating.service.js';

const PRORATION = ['create_prorations', 'always_invoice', 'none'] as const;
const DETAILS = ['items', 'proration_behavior', 'proration_date', 'billing_cycle_anchor', 'cancel_at_period_end', 'cancel_now'];

/**
 * `billing.preview_invoice` (issue 8 item 8): the invoice a subscription would be issued, with
 * the usage so far, or the one a change in `subscription_details` would issue. The change is
 * decided by the subscription decider on a copy of the state and nothing is appended.
 */
@Injectable()
export class InvoicePreviewService {
  constructor(
    @Inject(READ_MODELS) private readonly models: RatingReadModels,
    @Inject(SUBSCRIPTION_INDEX) private readonly index: SubscriptionIndex,
    private readonly time: TimeService,
    private readonly rating: UsageRatingService,
  ) {}

  async preview(req: PreviewSubscriptionInvoiceRequest): Promise<PreviewSubscriptionInvoiceReply> {
    const s = await this.subscriptionOf(req);
    const customer = s?.customer ?? req.customer!;
    const cust = await this.models.customers.get(customer);
    if (!cust || cust.deleted) throw notFound('customer', customer, 'customer');
    const test_clock = cust.object.test_clock ?? null;
    const at = await this.time.now(test_clock);
    if (!s) {
      if (req.subscription_details) throw noUpcomingInvoice(customer);
      return { customer, test_clock, at, invoice: null };
    }
    const invoice = req.subscription_details ? await this.withChanges(s, req.subscription_details, at) : await this.upcoming(s, at);
    return { customer, test_clock, at, invoice };
  }

  /** The named subscription (of the named customer), or the customer's active subscription that ends its period first. */
  private async subscriptionOf(req: PreviewSubscriptionInvoiceRequest): Promise<SubscriptionState | null> {
    if (req.subscription) {
      const s = await this.models.subscriptions.get(req.subscription);
      if (!s) throw notFound('subscription', req.subscription, 'subscription');
      if (req.customer && s.customer !== req.customer)
        throw invalid('subscription', `The subscription ${s.id} does not belong to the customer ${req.customer}.`);
      return s;
    }
    if (!req.customer)
      throw new DomainError('parameter_missing', 'Missing required param: customer or subscription.', { param: 'customer' });
    const first = await this.index.firstDueOfCustomer(req.customer);
    return first ? this.models.subscriptions.get(first) : null;
  }

  /** `made`: invoice items a previewed change would make (invoicing has only those already made). */
  private async upcoming(s: SubscriptionState, at: number, made: readonly SubscriptionInvoiceItem[] = []): Promise<PreviewInvoice> {
    if (s.status !== 'active') throw noUpcomingInvoice(s.customer);
    const usage = await this.usage(s, previewWindows(s, at));
    const names = await this.rating.productNames(s.items.filter((i) => !isMetered(i.price)).map((i) => i.price.product));
    return upcomingInvoice(s, usage, Object.fromEntries(names), made);
  }

  private async usage(s: SubscriptionState, windows: { item: SubscriptionItemState; start: number; end: number }[]): Promise<RatedLine[]> {
    const rated = await this.rating.rate(
      windows.map((w) => ({
        key: w.item.id,
        customer: s.customer,
        subscription_item: w.item.id,
        price: w.item.price,
        start: w.start,
        end: w.end,
      })),
    );
    return [...rated.values()];
  }

  /**
   * `subscription_details`: each change decided on a copy of the state, at `proration_date` (else
   * now). The first change that would issue an invoice at once is the preview; otherwise the
   * upcoming invoice of the changed subscription.
   */
  private async withChanges(s0: SubscriptionState, details: Record<string, unknown>, at: number): Promise<PreviewInvoice> {
    if (s0.status !== 'active') throw noUpcomingInvoice(s0.customer);
    const sd = obj({ subscription_details: details } as Params, 'subscription_details', { required: true })!;
    rejectUnknown(sd, DETAILS);
    const proration: ProrationBehavior = enumOf(sd, 'proration_behavior', PRORATION) ?? 'create_prorations';
    const when = timestamp(sd, 'proration_date') ?? at;
    const commands: (() => Promise<SubscriptionCommand>)[] = [];
    let s = s0;
    for (const it of objArr(sd, 'items') ?? []) {
      rejectUnknown(it, ['id', 'price', 'quantity', 'deleted', 'clear_usage', 'metadata']);
      const id = str(it, 'id');
      const priceId = str(it, 'price');
      const quantity = int(it, 'quantity', { min: 0 });
      const price = priceId ? await this.price(priceId, paramName(it, 'price')) : undefined;
      if (!id) {
        if (!price)
          throw new DomainError('parameter_missing', `Missing required param: ${paramName(it, 'price')}.`, {
            param: paramName(it, 'price'),
          });
        commands.push(async () => ({
          type: 'AddItem',
          now: when,
          item: { id: newId('subscriptionItem'), price, ...(quantity != null ? { quantity } : {}) },
          proration_behavior: proration,
        }));
        continue;
      }
      const deleted = bool(it, 'deleted') ?? false;
      commands.push(async () => {
        const item = s.items.find((i) => i.id === id);
        if (!item) throw notFound('subscription_item', id, paramName(it, 'id'));
        const repriced = !!price && price.id !== item.price.id;
        const billsOld = (deleted || repriced) && isMetered(item.price) && s.billing_mode.type === 'flexible' && proration !== 'none';
        const usage_lines = billsOld ? await this.usage(s, [{ item, start: item.current_period_start, end: when }]) : [];
        if (deleted)
          return { type: 'DeleteItem', now: when, item: id, proration_behavior: proration, usage_lines, invoice_item_ids: PREVIEW_IDS };
        return {
          type: 'UpdateItem',
          now: when,
          item: id,
          ...(repriced ? { price } : {}),
          ...(quantity != null ? { quantity } : {}),
          proration_behavior: proration,
          usage_lines,
          invoice_item_ids: PREVIEW_IDS,
        };
      });
    }
    const cape = bool(sd, 'cancel_at_period_end');
    if (cape != null) commands.push(async () => ({ type: 'UpdateSubscription', now: when, cancel_at_period_end: cape }));
    if (anchorOf(sd) === 'now')
      commands.push(async () => ({ type: 'ResetBillingCycleAnchor', now: when, lines: await this.usage(s, previewWindows(s, when)) }));
    if (bool(sd, 'cancel_now'))
      commands.push(async () => ({
        type: 'Cancel',
        now: when,
        invoice_now: true,
        prorate: false,
        lines: await this.usage(s, previewWindows(s, when)),
      }));

    const { decide, evolve } = subscriptionDecider;
    for (const next of commands) {
      const events = decide(await next(), s);
      for (const e of events) {
        const invoice = 'invoice' in e.data ? e.data.invoice : null;
        // Items made pending only are no invoice: the upcoming one shows them.
        if (invoice && typeof invoice === 'object' && !invoice.pending_only) return previewOf(invoice);
      }
      s = events.reduce(evolve, s) as SubscriptionState;
    }
    if (proration === 'always_invoice' && s.pending_lines.length > s0.pending_lines.length)
      return { ...previewOf({ ...invoiceOf(s, when), lines: s.pending_lines }) };
    const before = new Set((s0.pending_invoice_items ?? []).map((i) => i.id));
    return this.upcoming(
      s,
      Math.max(at, when),
      (s.pending_invoice_items ?? []).filter((i) => !before.has(i.id)),
    );
  }

  private async price(id: string, param: string): Promise<PriceObject> {
    const p = await this.models.prices.get(id);
    if (!p) throw notFound('price', id, param);
    return p;
  }
}

/** Ids of the invoice items a previewed change would make (nothing is written). */
const PREVIEW_IDS = Array.from({ length: 64 }, (_, i) => `ii_preview${i}`);

/**
 * `billing_cycle_anchor`: `now` | `unchanged`, as on a subscription update, or the newer SDKs'
 * `{type: now | unchanged}` (a `timestamp` anchor applies to new subscriptions only).
 */
function anchorOf(sd: Params): 'now' | 'unchanged' | undefined {
  if (sd.billing_cycle_anchor === undefined || typeof sd.billing_cycle_anchor === 'string')
    return enumOf(sd, 'billing_cycle_anchor', ['now', 'unchanged'] as const) ?? undefined;
  const a = obj(sd, 'billing_cycle_anchor', { required: true })!;
  rejectUnknown(a, ['type']);
  return enumOf(a, 'type', ['now', 'unchanged'] as const, { required: true })!;
}

/** The frame of an invoice issued at `at` for the current period (for pending lines invoiced at once). */
function invoiceOf(s: SubscriptionState, at: number) {
  return {
    idempotency_key: `${s.id}:preview`,
    customer: s.customer,
    subscription: s.id,
    currency: s.currency,
    billing_reason: 'subscription_update' as const,
    period_start: s.period.start,
    period_end: at,
    created: at,
    test_clock: s.test_clock,
    lines: [],
  };
}
