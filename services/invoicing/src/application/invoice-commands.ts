import type { CollectionMethod, CreateSubscriptionInvoiceRequest, LineData, Stripe } from '@meterflow/contracts';
import { DomainError, invalid, newId, toUnix, type Clock } from '@meterflow/kernel';
import { VersionConflictError } from '@meterflow/event-store';
import { applyMetadata, type MetadataPatch } from '@meterflow/stripe-api';
import type { Invoice } from '../domain/invoice.decider.js';
import { itemAmount, lineForItem, lineForRated, renderInvoiceItem, type InvoiceItem } from '../domain/invoice-item.decider.js';
import { renderInvoice } from '../domain/invoice.render.js';
import type { InvoicingSettings, Peers } from './ports.js';
import type { InvoiceStore, PlannedChange, PlannedItemChange, RequestContext } from './invoice-store.js';

export interface CreateInvoiceInput {
  customer: string;
  auto_advance?: boolean;
  automatically_finalizes_at?: number;
  collection_method?: CollectionMethod;
  currency?: string;
  days_until_due?: number;
  due_date?: number;
  description?: string;
  footer?: string;
  metadata?: MetadataPatch;
  pending_invoice_items_behavior?: 'include' | 'exclude';
  subscription?: string;
}

export interface UpdateInvoiceInput {
  auto_advance?: boolean;
  automatically_finalizes_at?: number;
  collection_method?: CollectionMethod;
  days_until_due?: number;
  due_date?: number;
  description?: string | null;
  footer?: string | null;
  metadata?: MetadataPatch;
}

export interface CreateItemInput {
  customer: string;
  amount?: bigint;
  unit_amount_decimal?: string;
  quantity?: number;
  price?: string;
  currency?: string;
  description?: string;
  invoice?: string;
  subscription?: string;
  period?: { start: number; end: number };
  metadata?: MetadataPatch;
}

export interface UpdateItemInput {
  amount?: bigint;
  unit_amount_decimal?: string;
  quantity?: number;
  price?: string;
  description?: string | null;
  period?: { start: number; end: number };
  metadata?: MetadataPatch;
}

/** Invoice and invoice-item commands other than finalization. */
export class InvoiceCommands {
  constructor(
    readonly store: InvoiceStore,
    private readonly peers: Peers,
    private readonly clock: Clock,
    private readonly settings: InvoicingSettings,
  ) {}

  /** "Now" for a customer: its test clock's frozen time, else the system clock. */
  async nowFor(testClock: string | null): Promise<number> {
    return testClock ? this.peers.clockTime(testClock) : toUnix(this.clock.now());
  }

  async create(input: CreateInvoiceInput, ctx: RequestContext): Promise<Stripe.Invoice> {
    const customer = await this.peers.customer(input.customer);
    const now = await this.nowFor(customer.test_clock);
    const collection = input.collection_method ?? 'charge_automatically';
    if (collection === 'send_invoice' && input.days_until_due === undefined && input.due_date === undefined)
      throw invalid('days_until_due', 'Invoices with `collection_method=send_invoice` need `days_until_due` or `due_date`.');
    if (collection === 'charge_automatically' && (input.days_until_due !== undefined || input.due_date !== undefined))
      throw invalid(
        input.days_until_due !== undefined ? 'days_until_due' : 'due_date',
        'You can only set a due date on invoices with `collection_method=send_invoice`.',
      );
    const autoAdvance = input.auto_advance ?? false;
    const id = newId('invoice');
    const inv = await this.store.transaction(async (tx) => {
      const items =
        input.pending_invoice_items_behavior === 'include'
          ? await this.store.pendingItems(tx, customer.id, input.subscription ?? null)
          : [];
      const currency = (input.currency ?? items[0]?.currency ?? customer.currency ?? 'usd').toLowerCase();
      const included = items.filter((i) => i.currency === currency);
      const lines = included.map((i) => lineForItem(i, newId('invoiceLineItem')));
      const created = await this.store.execInvoice(
        tx,
        id,
        {
          type: 'CreateInvoice',
          data: {
            id,
            customer: customer.id,
            currency,
            created: now,
            billing_reason: 'manual',
            collection_method: collection,
            auto_advance: autoAdvance,
            automatically_finalizes_at: autoAdvance ? (input.automatically_finalizes_at ?? now + this.settings.graceSeconds) : null,
            description: input.description ?? null,
            metadata: applyMetadata({}, input.metadata),
            test_clock: customer.test_clock,
            subscription: input.subscription ?? null,
            period_start: now,
            period_end: now,
            days_until_due: input.days_until_due ?? null,
            due_date: input.due_date ?? (input.days_until_due !== undefined ? now + input.days_until_due * 86_400 : null),
            footer: input.footer ?? null,
            idempotency_key: null,
            lines,
          },
        },
        ctx,
      );
      for (const [i, item] of included.entries())
        await this.store.execItem(tx, item.id, { type: 'InvoiceItem', invoice: id, line: lines[i]!.id }, now, ctx);
      return created;
    });
    return renderInvoice(inv);
  }

  async update(id: string, input: UpdateInvoiceInput, ctx: RequestContext): Promise<Stripe.Invoice> {
    const inv = await this.store.transaction(async (tx) => {
      const current = await this.store.getInvoice(id, tx);
      const now = await this.nowFor(current.test_clock);
      const changes: Parameters<InvoiceStore['execInvoice']>[2] = {
        type: 'UpdateInvoice',
        at: now,
        changes: {
          ...(input.auto_advance !== undefined ? { auto_advance: input.auto_advance } : {}),
          ...(input.collection_method !== undefined ? { collection_method: input.collection_method } : {}),
          ...(input.days_until_due !== undefined
            ? { days_until_due: input.days_until_due, due_date: current.created + input.days_until_due * 86_400 }
            : {}),
          ...(input.due_date !== undefined ? { due_date: input.due_date } : {}),
          ...(input.description !== undefined ? { description: input.description } : {}),
          ...(input.footer !== undefined ? { footer: input.footer } : {}),
          ...(input.metadata !== undefined ? { metadata: applyMetadata(current.metadata, input.metadata) } : {}),
        },
      };
      // Turning auto_advance on schedules finalization after the grace period, as on creation.
      if (input.automatically_finalizes_at !== undefined) changes.changes.automatically_finalizes_at = input.automatically_finalizes_at;
      else if (input.auto_advance === true && current.status === 'draft' && current.automatically_finalizes_at === null)
        changes.changes.automatically_finalizes_at = now + this.settings.graceSeconds;
      return this.store.execInvoice(tx, id, changes, ctx);
    });
    return renderInvoice(inv);
  }

  async del(id: string, ctx: RequestContext): Promise<{ id: string; object: 'invoice'; deleted: true }> {
    await this.store.transaction(async (tx) => {
      const current = await this.store.getInvoice(id, tx);
      const now = await this.nowFor(current.test_clock);
      await this.store.execInvoice(tx, id, { type: 'DeleteInvoice', at: now }, ctx);
      // Items on a deleted draft are deleted with it.
      for (const l of current.lines)
        if (l.invoice_item)
          await this.store
            .execItem(tx, l.invoice_item, { type: 'DeleteInvoiceItem', at: now, invoiceStatus: 'draft' }, now, ctx)
            .catch(() => undefined);
    });
    return { id, object: 'invoice', deleted: true };
  }

  async pay(id: string, paidOutOfBand: boolean, ctx: RequestContext): Promise<Stripe.Invoice> {
    return this.transition(id, (at) => ({ type: 'PayInvoice', at, paid_out_of_band: paidOutOfBand }), ctx);
  }
  async void(id: string, ctx: RequestContext): Promise<Stripe.Invoice> {
    return this.transition(id, (at) => ({ type: 'VoidInvoice', at }), ctx);
  }
  async markUncollectible(id: string, ctx: RequestContext): Promise<Stripe.Invoice> {
    return this.transition(id, (at) => ({ type: 'MarkUncollectible', at }), ctx);
  }
  async send(id: string, ctx: RequestContext): Promise<Stripe.Invoice> {
    return this.transition(id, (at) => ({ type: 'SendInvoice', at }), ctx);
  }

  private async transition(
    id: string,
    command: (at: number) => Parameters<InvoiceStore['execInvoice']>[2],
    ctx: RequestContext,
  ): Promise<Stripe.Invoice> {
    const current = await this.store.getInvoice(id);
    const at = await this.nowFor(current.test_clock);
    const inv = await this.store.transaction((tx) => this.store.execInvoice(tx, id, command(at), ctx));
    return renderInvoice(inv);
  }

  /** Rating hands over a closed period: one draft per idempotency key (the batch code with one item). */
  async createSubscriptionInvoice(req: CreateSubscriptionInvoiceRequest): Promise<Stripe.Invoice> {
    const [outcome] = await this.createSubscriptionInvoices([req]);
    if (!outcome!.ok) throw outcome!.error;
    return renderInvoice(outcome!.invoice ?? (await this.store.getInvoice(outcome!.id)));
  }

  /**
   * Rating hands over many closed periods: for each request, exactly what the single op does
   * (one draft per idempotency key; a key already claimed, by an earlier call or earlier in the
   * batch, answers its invoice; the customer's pending items of the subscription, or of none, in
   * the invoice's currency go on it). One answer per request, same order.
   *
   * Few round trips: the key claims of all requests in one query; then, in one transaction, the
   * pending items of all customers (locked) in two, every invoice, key claim and item change
   * planned in memory and appended in one `appendMany`, and projected in two statements. A
   * concurrent writer (a key or an item taken meanwhile) fails the append: the batch is planned
   * again from what is then stored (the keys others claimed now answer their invoices). Anything
   * else failing the batch (or conflicts that keep coming) falls back to one request at a time,
   * so only the failing request fails.
   */
  async createSubscriptionInvoices(reqs: readonly CreateSubscriptionInvoiceRequest[]): Promise<SubscriptionInvoiceOutcome[]> {
    if (reqs.length === 0) return [];
    let failure: unknown;
    for (let attempt = 1; attempt <= 4; attempt++) {
      try {
        return await this.createBatch(reqs);
      } catch (e) {
        failure = e;
        if (!(e instanceof VersionConflictError)) break;
      }
    }
    if (reqs.length === 1) return [{ ok: false, error: failure }];
    const out: SubscriptionInvoiceOutcome[] = [];
    // In order: a key repeated in the batch finds the invoice its first request made.
    for (const r of reqs) out.push((await this.createSubscriptionInvoices([r]))[0]!);
    return out;
  }

  /** One attempt at a batch; throws (nothing written) when the transaction fails. */
  private async createBatch(reqs: readonly CreateSubscriptionInvoiceRequest[]): Promise<SubscriptionInvoiceOutcome[]> {
    const claimed = await this.store.invoicesForKeys([...new Set(reqs.map((r) => r.idempotency_key))]);
    // The first request of each unclaimed key makes its invoice; repeats answer that one.
    const makers = new Map<string, CreateSubscriptionInvoiceRequest>();
    for (const r of reqs) if (!claimed.has(r.idempotency_key) && !makers.has(r.idempotency_key)) makers.set(r.idempotency_key, r);
    const made = new Map<string, SubscriptionInvoiceOutcome>();
    if (makers.size > 0) {
      await this.store.events.withTransaction(async (tx) => {
        const pending = await this.store.pendingItemsFor(
          tx,
          [...makers.values()].map((r) => ({ customer: r.customer, subscription: r.subscription })),
        );
        const taken = new Set<string>();
        const created: Parameters<InvoiceStore['appendCreated']>[1][number][] = [];
        for (const [key, req] of makers) {
          try {
            const change = this.planSubscriptionInvoice(
              req,
              pending.filter((p) => !taken.has(p.item.id)),
            );
            for (const i of change.items) taken.add(i.id);
            created.push(change);
            made.set(key, { ok: true, id: change.invoice.id, invoice: change.invoice.state });
          } catch (e) {
            made.set(key, { ok: false, error: e });
          }
        }
        await this.store.appendCreated(tx, created);
      });
    }
    return reqs.map((r) => {
      const existing = claimed.get(r.idempotency_key);
      if (existing) return { ok: true, id: existing };
      return made.get(r.idempotency_key)!;
    });
  }

  /** The draft a request makes, with the pending items (of its customer and subscription or none, in its currency) it takes. */
  private planSubscriptionInvoice(
    req: CreateSubscriptionInvoiceRequest,
    pending: readonly { item: InvoiceItem; version: number }[],
  ): { key: string; invoice: PlannedChange; items: PlannedItemChange[] } {
    const id = newId('invoice');
    const currency = req.currency.toLowerCase();
    const items = pending.filter(
      (p) =>
        p.item.customer === req.customer &&
        (p.item.subscription === null || p.item.subscription === req.subscription) &&
        p.item.currency === currency,
    );
    const rated = req.lines.map((l) => lineForRated(l, newId('invoiceLineItem'), req.subscription));
    const itemLines = items.map((p) => lineForItem(p.item, newId('invoiceLineItem')));
    const invoice = this.store.planInvoice(
      id,
      { state: null, version: 0 },
      {
        type: 'CreateInvoice',
        data: {
          id,
          customer: req.customer,
          currency,
          created: req.created,
          billing_reason: req.billing_reason,
          collection_method: 'charge_automatically',
          auto_advance: true,
          automatically_finalizes_at: req.created + this.settings.graceSeconds,
          description: null,
          metadata: {},
          test_clock: req.test_clock,
          subscription: req.subscription,
          period_start: req.period_start,
          period_end: req.period_end,
          days_until_due: null,
          due_date: null,
          footer: null,
          idempotency_key: req.idempotency_key,
          lines: [...rated, ...itemLines],
        },
      },
    );
    const itemChanges = items.map((p, i) =>
      this.store.planItem(
        p.item.id,
        { state: p.item, version: p.version },
        { type: 'InvoiceItem', invoice: id, line: itemLines[i]!.id },
        req.created,
      ),
    );
    return { key: req.idempotency_key, invoice, items: itemChanges };
  }

  // ---- invoice items ------------------------------------------------------------------------

  async createItem(input: CreateItemInput, ctx: RequestContext): Promise<Stripe.InvoiceItem> {
    const customer = await this.peers.customer(input.customer);
    const now = await this.nowFor(customer.test_clock);
    const given = [input.amount !== undefined, input.unit_amount_decimal !== undefined, input.price !== undefined].filter(Boolean).length;
    if (given === 0)
      throw new DomainError('parameter_missing', 'You must specify either `amount`, `unit_amount_decimal` or `pricing[price]`.', {
        param: 'amount',
      });
    if (given > 1)
      throw new DomainError('parameters_exclusive', 'You may only specify one of `amount`, `unit_amount_decimal` and `pricing[price]`.', {
        param: 'amount',
      });
    const quantity = input.quantity ?? 1;
    const price = input.price ? await this.peers.price(input.price) : null;
    if (price && price.unit_amount_decimal === null)
      throw invalid('pricing[price]', `The price ${price.id} has no per-unit amount and cannot be used for an invoice item.`);
    const id = newId('invoiceItem');
    const item = await this.store.transaction(async (tx) => {
      const target = input.invoice ? await this.store.getInvoice(input.invoice, tx) : null;
      if (target && target.customer !== customer.id) throw invalid('invoice', `Invoice ${target.id} belongs to another customer.`);
      if (target && target.status !== 'draft')
        throw new DomainError('invoice_not_editable', `Invoice ${target.id} is not a draft and cannot take new items.`, {
          param: 'invoice',
        });
      const currency = (input.currency ?? target?.currency ?? price?.currency ?? customer.currency ?? 'usd').toLowerCase();
      if (target && target.currency !== currency)
        throw invalid('currency', `The currency ${currency} does not match the invoice's currency ${target.currency}.`);
      const { amount, unit_amount_decimal } = itemAmount({
        ...(input.amount !== undefined ? { amount: input.amount } : {}),
        ...(input.unit_amount_decimal !== undefined ? { unit_amount_decimal: input.unit_amount_decimal } : {}),
        ...(price ? { unit_amount_decimal: price.unit_amount_decimal! } : {}),
        quantity,
      });
      const lineId = target ? newId('invoiceLineItem') : null;
      const created = await this.store.execItem(
        tx,
        id,
        {
          type: 'CreateInvoiceItem',
          data: {
            id,
            customer: customer.id,
            currency,
            amount: amount.toString(),
            quantity,
            unit_amount_decimal,
            description: input.description ?? null,
            date: now,
            period: input.period ?? { start: now, end: now },
            metadata: applyMetadata({}, input.metadata),
            price: price?.id ?? null,
            product: price?.product ?? null,
            subscription: input.subscription ?? null,
            test_clock: customer.test_clock,
            invoice: target?.id ?? null,
            line: lineId,
          },
        },
        now,
        ctx,
      );
      if (target) await this.store.execInvoice(tx, target.id, { type: 'AddLine', at: now, line: lineForItem(created, lineId!) }, ctx);
      return created;
    });
    return renderInvoiceItem(item);
  }

  async updateItem(id: string, input: UpdateItemInput, ctx: RequestContext): Promise<Stripe.InvoiceItem> {
    const price = input.price ? await this.peers.price(input.price) : null;
    const item = await this.store.transaction(async (tx) => {
      const current = await this.store.getItem(id, tx);
      const inv = current.invoice ? await this.store.getInvoice(current.invoice, tx) : null;
      if (inv && inv.status !== 'draft')
        throw new DomainError('invoice_not_editable', `The invoice item ${id} is on a finalized invoice and cannot be changed.`);
      const now = await this.nowFor(current.test_clock);
      const quantity = input.quantity ?? current.quantity;
      const priced =
        input.amount !== undefined || input.unit_amount_decimal !== undefined || price || input.quantity !== undefined
          ? itemAmount({
              ...(input.amount !== undefined ? { amount: input.amount } : {}),
              unit_amount_decimal: price?.unit_amount_decimal ?? input.unit_amount_decimal ?? current.unit_amount_decimal ?? '0',
              quantity,
            })
          : { amount: BigInt(current.amount), unit_amount_decimal: current.unit_amount_decimal };
      const updated = await this.store.execItem(
        tx,
        id,
        {
          type: 'UpdateInvoiceItem',
          changes: {
            amount: priced.amount.toString(),
            quantity,
            unit_amount_decimal: priced.unit_amount_decimal,
            description: input.description !== undefined ? input.description : current.description,
            period: input.period ?? current.period,
            metadata: applyMetadata(current.metadata ?? {}, input.metadata),
            price: price?.id ?? current.price,
            product: price?.product ?? current.product,
          },
        },
        now,
        ctx,
      );
      if (inv && updated.line)
        await this.store.execInvoice(tx, inv.id, { type: 'ChangeLine', at: now, line: lineForItem(updated, updated.line) }, ctx);
      return updated;
    });
    return renderInvoiceItem(item);
  }

  async deleteItem(id: string, ctx: RequestContext): Promise<{ id: string; object: 'invoiceitem'; deleted: true }> {
    await this.store.transaction(async (tx) => {
      const current = await this.store.getItem(id, tx);
      const inv = current.invoice ? await this.store.getInvoice(current.invoice, tx).catch(() => null) : null;
      const now = await this.nowFor(current.test_clock);
      await this.store.execItem(tx, id, { type: 'DeleteInvoiceItem', at: now, invoiceStatus: inv?.status ?? null }, now, ctx);
      if (inv && current.line) await this.store.execInvoice(tx, inv.id, { type: 'RemoveLine', at: now, line: current.line }, ctx);
    });
    return { id, object: 'invoiceitem', deleted: true };
  }
}

/** One request's answer: its invoice id (and the invoice when this call made it), or its error. */
export type SubscriptionInvoiceOutcome = { ok: true; id: string; invoice?: Invoice } | { ok: false; error: unknown };

export type { Invoice, LineData };
