import type { CollectionMethod, Stripe } from '@meterflow/contracts';
import type { CommandContext, CommandPipeline, UnitOfWork } from '@meterflow/event-store';
import { invalid, newId, notFound } from '@meterflow/kernel';
import { applyMetadata, type MetadataPatch } from '@meterflow/stripe-api';
import type { Invoice, InvoiceCommand } from '../domain/invoice.decider.js';
import { lineForItem, type InvoiceItem } from '../domain/invoice-item.decider.js';
import { renderInvoice } from '../domain/invoice.render.js';
import type { InvoicingAggregates } from './invoicing.aggregates.js';
import type { Customers, InvoiceRecords, InvoicingSettings } from './ports.js';

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

/** `invoices.create|update|del|pay|void|mark_uncollectible|send` (finalization: finalization.ts). */
export class InvoiceCommands {
  constructor(
    private readonly pipeline: CommandPipeline,
    private readonly aggregates: InvoicingAggregates,
    private readonly customers: Customers,
    private readonly records: InvoiceRecords,
    private readonly settings: InvoicingSettings,
  ) {}

  async create(input: CreateInvoiceInput, ctx: CommandContext): Promise<Stripe.Invoice> {
    const customer = await this.customers.customer(input.customer);
    const now = await this.customers.nowFor(customer);
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
    const { invoice, item } = this.aggregates;
    const inv = await this.pipeline.run(async (uow) => {
      const items = input.pending_invoice_items_behavior === 'include' ? await this.pendingItems(uow, customer.id, input.subscription) : [];
      const currency = (input.currency ?? items[0]?.currency ?? customer.currency ?? 'usd').toLowerCase();
      const included = items.filter((i) => i.currency === currency);
      const lines = included.map((i) => lineForItem(i, newId('invoiceLineItem')));
      uow.fresh(invoice, [id]);
      const { state } = uow.executeLoaded(invoice, id, {
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
      });
      for (const [i, it] of included.entries()) uow.executeLoaded(item, it.id, { type: 'InvoiceItem', invoice: id, line: lines[i]!.id });
      return state!;
    }, ctx);
    return renderInvoice(inv);
  }

  async update(id: string, input: UpdateInvoiceInput, ctx: CommandContext): Promise<Stripe.Invoice> {
    const inv = await this.pipeline.run(async (uow) => {
      const current = await this.existing(uow, id);
      const now = await this.customers.nowFor(current);
      const command: Extract<InvoiceCommand, { type: 'UpdateInvoice' }> = {
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
      if (input.automatically_finalizes_at !== undefined) command.changes.automatically_finalizes_at = input.automatically_finalizes_at;
      else if (input.auto_advance === true && current.status === 'draft' && current.automatically_finalizes_at === null)
        command.changes.automatically_finalizes_at = now + this.settings.graceSeconds;
      return uow.executeLoaded(this.aggregates.invoice, id, command).state!;
    }, ctx);
    return renderInvoice(inv);
  }

  async del(id: string, ctx: CommandContext): Promise<{ id: string; object: 'invoice'; deleted: true }> {
    const { invoice, item } = this.aggregates;
    await this.pipeline.run(async (uow) => {
      const current = await this.existing(uow, id);
      const now = await this.customers.nowFor(current);
      uow.executeLoaded(invoice, id, { type: 'DeleteInvoice', at: now });
      // Items on a deleted draft are deleted with it (one read for all of them).
      const itemIds = current.lines.flatMap((l) => (l.invoice_item ? [l.invoice_item] : []));
      await uow.preload(item, itemIds);
      for (const itemId of itemIds) {
        const undo = uow.checkpoint();
        try {
          uow.executeLoaded(item, itemId, { type: 'DeleteInvoiceItem', at: now, invoiceStatus: 'draft' });
        } catch {
          undo(); // already gone
        }
      }
    }, ctx);
    return { id, object: 'invoice', deleted: true };
  }

  pay(id: string, paidOutOfBand: boolean, ctx: CommandContext): Promise<Stripe.Invoice> {
    return this.transition(id, (at) => ({ type: 'PayInvoice', at, paid_out_of_band: paidOutOfBand }), ctx);
  }
  void(id: string, ctx: CommandContext): Promise<Stripe.Invoice> {
    return this.transition(id, (at) => ({ type: 'VoidInvoice', at }), ctx);
  }
  markUncollectible(id: string, ctx: CommandContext): Promise<Stripe.Invoice> {
    return this.transition(id, (at) => ({ type: 'MarkUncollectible', at }), ctx);
  }
  send(id: string, ctx: CommandContext): Promise<Stripe.Invoice> {
    return this.transition(id, (at) => ({ type: 'SendInvoice', at }), ctx);
  }

  /** A status change at the customer's "now", read before the unit (the clock is asked outside the transaction). */
  private async transition(id: string, command: (at: number) => InvoiceCommand, ctx: CommandContext): Promise<Stripe.Invoice> {
    const { invoice } = this.aggregates;
    const loaded = (await this.pipeline.read(invoice, [id])).get(id)!;
    if (!loaded.state || loaded.state.deleted) throw notFound('invoice', id);
    const at = await this.customers.nowFor(loaded.state);
    const { state } = await this.pipeline.handle(invoice, id, command(at), ctx);
    return renderInvoice(state!);
  }

  /** The invoice in this unit, or Stripe's 404. */
  private async existing(uow: UnitOfWork, id: string): Promise<Invoice> {
    const inv = await uow.load(this.aggregates.invoice, id);
    if (!inv || inv.deleted) throw notFound('invoice', id);
    return inv;
  }

  /** The customer's pending items (of this subscription or none), locked in this unit, oldest first. */
  private async pendingItems(uow: UnitOfWork, customer: string, subscription: string | undefined): Promise<InvoiceItem[]> {
    const ids = await this.records.pendingItemIds(uow.tx, [{ customer, subscription: subscription ?? null }]);
    await uow.preload(this.aggregates.item, ids);
    const out: InvoiceItem[] = [];
    for (const id of ids) {
      const s = await uow.load(this.aggregates.item, id);
      if (s && !s.deleted) out.push(s);
    }
    return out;
  }
}
