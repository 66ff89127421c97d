import type { Stripe } from '@meterflow/contracts';
import type { CommandContext, CommandPipeline, UnitOfWork } from '@meterflow/event-store';
import { DomainError, invalid, newId, notFound } from '@meterflow/kernel';
import { applyMetadata, type MetadataPatch } from '@meterflow/stripe-api';
import type { Invoice } from '../domain/invoice.decider.js';
import { itemAmount, lineForItem, renderInvoiceItem, type InvoiceItem } from '../domain/invoice-item.decider.js';
import type { InvoicingAggregates } from './invoicing.aggregates.js';
import type { Customers, Peers } from './ports.js';

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

/** `invoiceitems.create|update|del`: an item on a draft changes the draft's line in the same unit. */
export class InvoiceItemCommands {
  constructor(
    private readonly pipeline: CommandPipeline,
    private readonly aggregates: InvoicingAggregates,
    private readonly customers: Customers,
    private readonly peers: Peers,
  ) {}

  async createItem(input: CreateItemInput, ctx: CommandContext): Promise<Stripe.InvoiceItem> {
    const customer = await this.customers.customer(input.customer);
    const now = await this.customers.nowFor(customer);
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
    const { invoice, item } = this.aggregates;
    const created = await this.pipeline.run(async (uow) => {
      const target = input.invoice ? await this.invoice(uow, input.invoice) : null;
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
      uow.fresh(item, [id]);
      const { state } = uow.executeLoaded(item, id, {
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
      });
      if (target) uow.executeLoaded(invoice, target.id, { type: 'AddLine', at: now, line: lineForItem(state!, lineId!) });
      return state!;
    }, ctx);
    return renderInvoiceItem(created);
  }

  async updateItem(id: string, input: UpdateItemInput, ctx: CommandContext): Promise<Stripe.InvoiceItem> {
    const price = input.price ? await this.peers.price(input.price) : null;
    const { invoice, item } = this.aggregates;
    const updated = await this.pipeline.run(async (uow) => {
      const current = await this.item(uow, id);
      const inv = current.invoice ? await this.invoice(uow, current.invoice) : null;
      if (inv && inv.status !== 'draft')
        throw new DomainError('invoice_not_editable', `The invoice item ${id} is on a finalized invoice and cannot be changed.`);
      const now = await this.customers.nowFor(current);
      const quantity = input.quantity ?? current.quantity;
      const priced =
        input.amount !== undefined || input.unit_amount_decimal !== undefined || price || input.quantity !== undefined
          ? itemAmount({
              ...(input.amount !== undefined ? { amount: input.amount } : {}),
              unit_amount_decimal: price?.unit_amount_decimal ?? input.unit_amount_decimal ?? current.unit_amount_decimal ?? '0',
              quantity,
            })
          : { amount: BigInt(current.amount), unit_amount_decimal: current.unit_amount_decimal };
      const { state } = uow.executeLoaded(item, id, {
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
      });
      if (inv && state!.line) uow.executeLoaded(invoice, inv.id, { type: 'ChangeLine', at: now, line: lineForItem(state!, state!.line) });
      return state!;
    }, ctx);
    return renderInvoiceItem(updated);
  }

  async deleteItem(id: string, ctx: CommandContext): Promise<{ id: string; object: 'invoiceitem'; deleted: true }> {
    const { invoice, item } = this.aggregates;
    await this.pipeline.run(async (uow) => {
      const current = await this.item(uow, id);
      const inv = current.invoice ? await this.invoice(uow, current.invoice).catch(() => null) : null;
      const now = await this.customers.nowFor(current);
      uow.executeLoaded(item, id, { type: 'DeleteInvoiceItem', at: now, invoiceStatus: inv?.status ?? null });
      if (inv && current.line) uow.executeLoaded(invoice, inv.id, { type: 'RemoveLine', at: now, line: current.line });
    }, ctx);
    return { id, object: 'invoiceitem', deleted: true };
  }

  /** The item in this unit, or Stripe's 404. */
  private async item(uow: UnitOfWork, id: string): Promise<InvoiceItem> {
    const s = await uow.load(this.aggregates.item, id);
    if (!s || s.deleted) throw notFound('invoiceitem', id);
    return s;
  }

  /** The invoice in this unit, or Stripe's 404. */
  private async invoice(uow: UnitOfWork, id: string): Promise<Invoice> {
    const s = await uow.load(this.aggregates.invoice, id);
    if (!s || s.deleted) throw notFound('invoice', id);
    return s;
  }
}
