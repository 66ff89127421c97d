import { Inject, Injectable } from '@nestjs/common';
import type { ApiRequest } from '@meterflow/contracts';
import { DomainError, newId, notFound } from '@meterflow/kernel';
import {
  LIST_PARAM_KEYS,
  applyMetadata,
  bool,
  enumOf,
  int,
  listSql,
  metadata,
  obj,
  objArr,
  parseListParams,
  pageInMemory,
  paramName,
  rejectUnknown,
  str,
  timestamp,
  type Params,
} from '@meterflow/stripe-api';
import type pg from 'pg';
import type { CommandPipeline } from '@meterflow/event-store';
import { PG_POOL } from '@meterflow/service-kit';
import type { AnchorConfig } from '../domain/billing-period.js';
import { billsBackdatedUsageAtCreation } from '../domain/creation-invoice.js';
import { isMetered } from '../domain/price.js';
import { meteredWindows, type CreateSubscriptionInput, type NewItem, type SubscriptionCommand } from '../domain/subscription.decider.js';
import {
  CANCELLATION_FEEDBACK,
  type ProrationBehavior,
  type SubscriptionItemState,
  type SubscriptionState,
} from '../domain/subscription.types.js';
import { toStripeSubscription, toStripeSubscriptionItem } from '../domain/subscription.view.js';
import { RatingAggregates } from './aggregates.js';
import { CustomersHandler } from './customers.handler.js';
import { PeriodCloseService } from './period-close.service.js';
import { PIPELINE, READ_MODELS, type RatingReadModels } from './ports.js';
import { PricesHandler } from './prices.handler.js';
import { requestContext } from './stripe-facts.js';
import { rangeFilter } from './list-filters.js';
import { TimeService } from './time.service.js';
import { UsageRatingService } from './usage-rating.service.js';

const PRORATION = ['create_prorations', 'always_invoice', 'none'] as const;
/** Accepted for SDK compatibility; payments are outside Meterflow. */
const IGNORED = ['payment_behavior', 'collection_method', 'days_until_due', 'default_payment_method', 'off_session', 'proration_date'];

@Injectable()
export class SubscriptionsHandler {
  constructor(
    @Inject(PIPELINE) private readonly pipeline: CommandPipeline,
    @Inject(READ_MODELS) private readonly models: RatingReadModels,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
    private readonly types: RatingAggregates,
    private readonly customers: CustomersHandler,
    private readonly catalog: PricesHandler,
    private readonly time: TimeService,
    private readonly rating: UsageRatingService,
    private readonly periods: PeriodCloseService,
  ) {}

  private async readItem(p: Params): Promise<NewItem> {
    rejectUnknown(p, ['price', 'quantity', 'metadata', 'tax_rates', 'discounts', 'billing_thresholds']);
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

  async load(id: string): Promise<SubscriptionState> {
    const state = await this.models.subscriptions.get(id);
    if (!state) throw notFound('subscription', id);
    return state;
  }

  /** Run a command against one subscription, recording the Stripe events it causes. */
  private async run(id: string, cmd: () => SubscriptionCommand, _at: number, req: ApiRequest): Promise<SubscriptionState> {
    const command = cmd();
    const { state } = await this.pipeline.run(async (uow) => {
      if (!(await uow.load(this.types.subscription, id)) && command.type !== 'CreateSubscription') throw notFound('subscription', id);
      return uow.executeLoaded(this.types.subscription, id, command);
    }, requestContext(req));
    return state!;
  }

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
      ...IGNORED,
    ]);
    const customer = await this.customers.get(str(p, 'customer', { required: true })).catch((e: unknown) => {
      if (e instanceof DomainError && e.status === 404) throw notFound('customer', String(p.customer), 'customer');
      throw e;
    });
    const items = await Promise.all(objArr(p, 'items', { required: true }).map((i) => this.readItem(i)));
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
    if (cfg) {
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
      input.billing_cycle_anchor_config = c;
    }
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
    let s = await this.run(input.id, () => ({ type: 'CreateSubscription', input }), now, req);
    // The creation invoice, handed over now if invoicing answers (else retried); invoicing
    // finalizes it at once, so it is the subscription's latest_invoice when this returns.
    if (s.pending_invoices.length > 0) {
      await this.periods.flushPending([s.id]).catch(() => undefined);
      s = await this.load(s.id);
    }
    return toStripeSubscription(s);
  }

  async retrieve(req: ApiRequest) {
    return toStripeSubscription(await this.load(req.path.id ?? ''));
  }

  async list(req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, [...LIST_PARAM_KEYS, 'customer', 'price', 'status', 'test_clock', 'created']);
    const args: unknown[] = [];
    const where: string[] = [];
    const add = (sql: string, v: unknown) => {
      args.push(v);
      where.push(sql.replace('?', `$${args.length}`));
    };
    const customer = str(p, 'customer');
    if (customer) add('customer = ?', customer);
    const price = str(p, 'price');
    if (price) add('? = ANY(price_ids)', price);
    const testClock = str(p, 'test_clock');
    if (testClock) add('test_clock = ?', testClock);
    const status = enumOf(p, 'status', [
      'active',
      'all',
      'canceled',
      'ended',
      'incomplete',
      'incomplete_expired',
      'past_due',
      'paused',
      'trialing',
      'unpaid',
    ] as const);
    // Stripe's default list leaves canceled subscriptions out.
    if (!status) where.push(`status <> 'canceled'`);
    else if (status === 'ended') where.push(`status = 'canceled'`);
    else if (status !== 'all') add('status = ?', status);
    const created = rangeFilter(p, 'created', 'created', args.length + 1);
    where.push(...created.sql);
    args.push(...created.args);
    const page = listSql(parseListParams(p), { firstArg: args.length + 1 });
    if (page.where) where.push(page.where);
    const { rows } = await this.pool.query<{ state: SubscriptionState }>(
      `SELECT state FROM subscriptions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
      [...args, ...page.args],
    );
    return page.finish(
      rows.map((r) => toStripeSubscription(r.state)),
      '/v1/subscriptions',
    );
  }

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
      ...IGNORED,
    ]);
    const s0 = await this.load(id);
    const now = await this.time.now(s0.test_clock);
    const proration = enumOf(p, 'proration_behavior', PRORATION) ?? 'create_prorations';
    const anchor = enumOf(p, 'billing_cycle_anchor', ['now', 'unchanged'] as const);

    // Item changes first, each as its own command (they bill usage at their own time).
    for (const it of objArr(p, 'items') ?? []) {
      rejectUnknown(it, ['id', 'price', 'quantity', 'deleted', 'metadata', 'clear_usage', 'tax_rates', 'discounts', 'billing_thresholds']);
      const itemId = str(it, 'id');
      if (!itemId) {
        const item = await this.readItem(Object.fromEntries(Object.entries(it).filter(([k]) => k !== 'clear_usage')));
        const product_names = Object.fromEntries(await this.rating.productNames([item.price.product]));
        await this.run(id, () => ({ type: 'AddItem', now, item, proration_behavior: proration, product_names }), now, req);
      } else if (bool(it, 'deleted')) await this.changeItem(req, id, itemId, { delete: true, proration });
      else {
        const priceId = str(it, 'price');
        const quantity = int(it, 'quantity', { min: 0 });
        const md = metadata(it);
        await this.changeItem(req, id, itemId, {
          proration,
          ...(priceId ? { price: priceId } : {}),
          ...(quantity != null ? { quantity } : {}),
          ...(md !== undefined ? { metadata: md } : {}),
        });
      }
    }

    const cmd: Extract<SubscriptionCommand, { type: 'UpdateSubscription' }> = { type: 'UpdateSubscription', now };
    const md = metadata(p);
    if (md !== undefined) cmd.metadata = applyMetadata((await this.load(id)).metadata, md);
    const description = str(p, 'description', { maxLength: 500 });
    if (description !== undefined) cmd.description = description;
    const cape = bool(p, 'cancel_at_period_end');
    if (cape != null) cmd.cancel_at_period_end = cape;
    if (p.cancel_at !== undefined) {
      const v = p.cancel_at;
      if (v === 'max_period_end' || v === 'min_period_end') cmd.cancel_at = (await this.load(id)).period.end;
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
    const touched = Object.keys(cmd).length > 2;
    let s = touched ? await this.run(id, () => cmd, now, req) : await this.load(id);
    if (anchor === 'now') {
      // The current period ends now: its usage is invoiced at once and a new cycle starts.
      const lines = await this.usageLines(
        s,
        meteredWindows(s, now).map((w) => ({ item: w.item, start: w.start })),
        now,
      );
      const product_names = Object.fromEntries(await this.rating.productNames(s.items.map((i) => i.price.product)));
      s = await this.run(id, () => ({ type: 'ResetBillingCycleAnchor', now, lines, product_names }), now, req);
      await this.periods.flushPending([id]).catch(() => undefined);
      s = await this.load(id);
    }
    return toStripeSubscription(s);
  }

  async cancel(req: ApiRequest) {
    const id = req.path.id ?? '';
    const p = req.params;
    rejectUnknown(p, ['invoice_now', 'prorate', 'cancellation_details']);
    const s0 = await this.load(id);
    if (s0.status === 'canceled') throw new DomainError('resource_missing', `No such subscription: '${id}'`, { status: 404, param: 'id' });
    const now = await this.time.now(s0.test_clock);
    const invoiceNow = bool(p, 'invoice_now') ?? false;
    const cd = obj(p, 'cancellation_details');
    const lines = invoiceNow
      ? await this.usageLines(
          s0,
          meteredWindows(s0, now).map((w) => ({ item: w.item, start: w.start })),
        )
      : [];
    const s = await this.run(
      id,
      () => ({
        type: 'Cancel',
        now,
        invoice_now: invoiceNow,
        prorate: bool(p, 'prorate') ?? false,
        ...(cd
          ? {
              cancellation_details: {
                comment: str(cd, 'comment') ?? null,
                feedback: enumOf(cd, 'feedback', CANCELLATION_FEEDBACK) ?? null,
              },
            }
          : {}),
        lines,
      }),
      now,
      req,
    );
    // The final invoice: handed over now if invoicing answers, else by the scheduler's retry.
    if (invoiceNow) await this.periods.flushPending([id]).catch(() => undefined);
    return toStripeSubscription(await this.load(s.id));
  }

  /** Deleting a customer cancels its subscriptions at once (no final invoice, like Stripe). */
  async cancelAllOf(customer: string, req: ApiRequest): Promise<void> {
    const { rows } = await this.pool.query<{ id: string }>(`SELECT id FROM subscriptions WHERE customer = $1 AND status = 'active'`, [
      customer,
    ]);
    for (const { id } of rows) {
      const s = await this.load(id);
      const now = await this.time.now(s.test_clock);
      await this.run(id, () => ({ type: 'Cancel', now, invoice_now: false, prorate: false, lines: [] }), now, req);
    }
  }

  async migrate(req: ApiRequest) {
    const id = req.path.id ?? '';
    rejectUnknown(req.params, ['billing_mode']);
    const mode = obj(req.params, 'billing_mode', { required: true });
    enumOf(mode, 'type', ['flexible'] as const, { required: true });
    const s0 = await this.load(id);
    const now = await this.time.now(s0.test_clock);
    return toStripeSubscription(await this.run(id, () => ({ type: 'MigrateBillingMode', now }), now, req));
  }

  /** Rated usage of items from their start to the subscription's "now". */
  private async usageLines(s: SubscriptionState, items: { item: SubscriptionItemState; start: number }[], end?: number) {
    const now = end ?? (await this.time.now(s.test_clock));
    const windows = items
      .filter((i) => isMetered(i.item.price))
      .map((i) => ({ key: i.item.id, customer: s.customer, subscription_item: i.item.id, price: i.item.price, start: i.start, end: now }));
    const rated = await this.rating.rate(windows);
    return [...rated.values()];
  }

  private async changeItem(
    req: ApiRequest,
    subId: string,
    itemId: string,
    change: { delete?: boolean; price?: string; quantity?: number; metadata?: ReturnType<typeof metadata>; proration: ProrationBehavior },
  ): Promise<SubscriptionState> {
    const s = await this.load(subId);
    const item = s.items.find((i) => i.id === itemId);
    if (!item) throw notFound('subscription_item', itemId);
    const now = await this.time.now(s.test_clock);
    const priceChange = change.price && change.price !== item.price.id ? await this.catalog.get(change.price) : undefined;
    // Usage so far at the old price matters only when flexible mode bills it.
    const needsUsage =
      (change.delete || priceChange) && isMetered(item.price) && s.billing_mode.type === 'flexible' && change.proration !== 'none';
    const usage_lines = needsUsage ? await this.usageLines(s, [{ item, start: item.current_period_start }], now) : [];
    if (change.delete)
      return this.run(
        subId,
        () => ({ type: 'DeleteItem', now, item: itemId, proration_behavior: change.proration, usage_lines }),
        now,
        req,
      );
    return this.run(
      subId,
      () => ({
        type: 'UpdateItem',
        now,
        item: itemId,
        ...(priceChange ? { price: priceChange } : {}),
        ...(change.quantity !== undefined ? { quantity: change.quantity } : {}),
        ...(change.metadata !== undefined ? { metadata: applyMetadata(item.metadata, change.metadata) } : {}),
        proration_behavior: change.proration,
        usage_lines,
      }),
      now,
      req,
    );
  }

  // ---- subscription items ----------------------------------------------------------------

  private async subscriptionOfItem(itemId: string): Promise<string> {
    const { rows } = await this.pool.query<{ subscription: string }>(
      'SELECT subscription FROM subscription_items WHERE id = $1 AND NOT deleted',
      [itemId],
    );
    if (!rows[0]) throw notFound('subscription_item', itemId);
    return rows[0].subscription;
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
    const s0 = await this.load(subId);
    const proration = enumOf(p, 'proration_behavior', PRORATION) ?? 'create_prorations';
    const item = await this.readItem(Object.fromEntries(Object.entries(p).filter(([k]) => ['price', 'quantity', 'metadata'].includes(k))));
    const now = await this.time.now(s0.test_clock);
    const product_names = Object.fromEntries(await this.rating.productNames([item.price.product]));
    const s = await this.run(subId, () => ({ type: 'AddItem', now, item, proration_behavior: proration, product_names }), now, req);
    return toStripeSubscriptionItem(
      s.items.find((i) => i.id === item.id)!,
      s.id,
    );
  }

  async retrieveItem(req: ApiRequest) {
    const id = req.path.id ?? '';
    const s = await this.load(await this.subscriptionOfItem(id));
    const item = s.items.find((i) => i.id === id);
    if (!item) throw notFound('subscription_item', id);
    return toStripeSubscriptionItem(item, s.id);
  }

  async updateItem(req: ApiRequest) {
    const id = req.path.id ?? '';
    const p = req.params;
    rejectUnknown(p, ['price', 'quantity', 'metadata', 'proration_behavior', 'tax_rates', 'discounts', 'billing_thresholds', ...IGNORED]);
    const subId = await this.subscriptionOfItem(id);
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
    const subId = await this.subscriptionOfItem(id);
    await this.changeItem(req, subId, id, { delete: true, proration: enumOf(p, 'proration_behavior', PRORATION) ?? 'create_prorations' });
    return { id, object: 'subscription_item' as const, deleted: true as const };
  }

  async listItems(req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, [...LIST_PARAM_KEYS, 'subscription']);
    const s = await this.load(str(p, 'subscription', { required: true }));
    const items = s.items.map((i) => toStripeSubscriptionItem(i, s.id)).sort((a, b) => (a.id < b.id ? 1 : -1));
    return pageInMemory(items, parseListParams(p), '/v1/subscription_items', (i) => i.id);
  }
}
