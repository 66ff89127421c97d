import type { MikroORM } from '@mikro-orm/postgresql';
import type { Stripe } from '@meterflow/contracts';
import { notFound } from '@meterflow/kernel';
import type { ListParams, StripeList } from '@meterflow/stripe-api';
import { toList } from '@meterflow/stripe-api';
import { InvoiceItemRecord, InvoiceLineRecord, InvoiceRecord } from './invoicing.entities.js';

export interface RangeFilter {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
}

const range = (r: RangeFilter | number | undefined): Record<string, number> | number | undefined => {
  if (r === undefined || typeof r === 'number') return r;
  const out: Record<string, number> = {};
  if (r.gt !== undefined) out.$gt = r.gt;
  if (r.gte !== undefined) out.$gte = r.gte;
  if (r.lt !== undefined) out.$lt = r.lt;
  if (r.lte !== undefined) out.$lte = r.lte;
  return out;
};

const cursorWhere = (lp: ListParams): Record<string, unknown> =>
  lp.endingBefore !== undefined
    ? { id: { $gt: lp.endingBefore } }
    : lp.startingAfter !== undefined
      ? { id: { $lt: lp.startingAfter } }
      : {};
const order = (lp: ListParams) => ({ id: lp.endingBefore !== undefined ? ('asc' as const) : ('desc' as const) });

/** Reads of the invoicing read models, through MikroORM. */
export class InvoiceQueries {
  constructor(private readonly orm: MikroORM) {}

  async invoice(id: string): Promise<Stripe.Invoice> {
    const row = await this.orm.em.fork().findOne(InvoiceRecord, { id });
    if (!row) throw notFound('invoice', id);
    return row.object;
  }

  async invoices(
    lp: ListParams,
    f: { customer?: string; subscription?: string; status?: string; collection_method?: string; created?: RangeFilter | number },
  ): Promise<StripeList<Stripe.Invoice>> {
    const where: Record<string, unknown> = { ...cursorWhere(lp) };
    if (f.customer !== undefined) where.customer = f.customer;
    if (f.subscription !== undefined) where.subscription = f.subscription;
    if (f.status !== undefined) where.status = f.status;
    if (f.collection_method !== undefined) where.collection_method = f.collection_method;
    if (f.created !== undefined) where.created = range(f.created);
    const rows = await this.orm.em.fork().find(InvoiceRecord, where, { orderBy: order(lp), limit: lp.limit + 1 });
    return toList(
      rows.map((r) => r.object),
      { ...lp, url: '/v1/invoices' },
    );
  }

  /** Lines in invoice order; cursors are line ids. */
  async lines(invoice: string, lp: ListParams): Promise<StripeList<Stripe.InvoiceLineItem>> {
    const em = this.orm.em.fork();
    if (!(await em.findOne(InvoiceRecord, { id: invoice }, { fields: ['id'] }))) throw notFound('invoice', invoice);
    const cursorId = lp.startingAfter ?? lp.endingBefore;
    let where: Record<string, unknown> = { invoice };
    if (cursorId !== undefined) {
      const c = await em.findOne(InvoiceLineRecord, { id: cursorId, invoice });
      if (!c) throw notFound('line_item', cursorId, lp.startingAfter !== undefined ? 'starting_after' : 'ending_before');
      where = { invoice, position: lp.startingAfter !== undefined ? { $gt: c.position } : { $lt: c.position } };
    }
    const backward = lp.endingBefore !== undefined;
    const rows = await em.find(InvoiceLineRecord, where, { orderBy: { position: backward ? 'desc' : 'asc' }, limit: lp.limit + 1 });
    return toList(
      rows.map((r) => r.object),
      { ...lp, url: `/v1/invoices/${invoice}/lines` },
    );
  }

  async item(id: string): Promise<Stripe.InvoiceItem> {
    const row = await this.orm.em.fork().findOne(InvoiceItemRecord, { id });
    if (!row) throw notFound('invoiceitem', id);
    return row.object;
  }

  async items(
    lp: ListParams,
    f: { customer?: string; invoice?: string; pending?: boolean; created?: RangeFilter | number },
  ): Promise<StripeList<Stripe.InvoiceItem>> {
    const where: Record<string, unknown> = { ...cursorWhere(lp) };
    if (f.customer !== undefined) where.customer = f.customer;
    if (f.invoice !== undefined) where.invoice = f.invoice;
    if (f.pending === true) where.invoice = null;
    if (f.pending === false) where.invoice = { $ne: null };
    if (f.created !== undefined) where.date = range(f.created);
    const rows = await this.orm.em.fork().find(InvoiceItemRecord, where, { orderBy: order(lp), limit: lp.limit + 1 });
    return toList(
      rows.map((r) => r.object),
      { ...lp, url: '/v1/invoiceitems' },
    );
  }
}
