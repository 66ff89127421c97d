import type { CreateSubscriptionInvoiceRequest, Stripe } from '@meterflow/contracts';
import type { CommandPipeline, UnitOfWork } from '@meterflow/event-store';
import { newId, notFound } from '@meterflow/kernel';
import type { Invoice } from '../domain/invoice.decider.js';
import { itemForSubscription, lineForItem, lineForRated, type InvoiceItem } from '../domain/invoice-item.decider.js';
import { renderInvoice } from '../domain/invoice.render.js';
import { automaticFinalizationAt, ofChangeItemsOnly } from '../domain/subscription-invoice.rules.js';
import type { InvoicingAggregates } from './invoicing.aggregates.js';
import type { InvoiceRecords, InvoicingSettings } from './ports.js';

/**
 * Another unit made an invoice for one of the batch's keys meanwhile: the unique index on
 * `invoices.idempotency_key` waited for its commit and refused this one's (`23505`), or the two
 * units waited on each other's keys (`40P01`, Postgres ends one). Run again: the key now answers.
 */
export const keyTakenMeanwhile = (e: unknown): boolean => {
  const { code, constraint } = (e ?? {}) as { code?: unknown; constraint?: unknown };
  return (code === '23505' && constraint === 'invoices_idempotency_key_key') || code === '40P01';
};

/** One request's answer: its invoice id (and the invoice when this call made it), or its error. */
export type SubscriptionInvoiceOutcome = { ok: true; id: string; invoice?: Invoice } | { ok: false; error: unknown };

/**
 * Rating hands over closed periods (`subscription_invoices.create[_many]`): one draft per
 * idempotency key, with the customer's pending items of the subscription (or of none) in the
 * invoice's currency.
 */
export class SubscriptionInvoices {
  constructor(
    private readonly pipeline: CommandPipeline,
    private readonly aggregates: InvoicingAggregates,
    private readonly records: InvoiceRecords,
    private readonly settings: InvoicingSettings,
  ) {}

  /** The single op: the batch code with one item. */
  async createSubscriptionInvoice(req: CreateSubscriptionInvoiceRequest): Promise<Stripe.Invoice> {
    const [outcome] = await this.createSubscriptionInvoices([req]);
    if (!outcome!.ok) throw outcome!.error;
    if (outcome!.invoice) return renderInvoice(outcome!.invoice);
    const made = (await this.pipeline.read(this.aggregates.invoice, [outcome!.id])).get(outcome!.id)!.state;
    if (!made || made.deleted) throw notFound('invoice', outcome!.id);
    return renderInvoice(made);
  }

  /**
   * For each request, exactly what the single op does (a key already claimed, by an earlier call
   * or earlier in the batch, answers its invoice). One answer per request, same order.
   *
   * One unit for the batch: the keys' invoices read in one query, the pending items of all
   * customers locked and loaded in two, every invoice and item change appended in one statement
   * and projected in one per type. Each invoice records its key (`invoices.idempotency_key`,
   * unique): a concurrent unit making an invoice for one of the same keys makes this one's
   * projection wait for its commit and fail (or the two deadlock), and the unit runs again, now
   * answering that invoice; a concurrent writer of an item taken meanwhile is a version
   * conflict: the unit runs again from what is then stored. Anything else failing the batch (or
   * conflicts that keep coming) falls back to one request at a time, so only the failing request
   * fails.
   */
  async createSubscriptionInvoices(reqs: readonly CreateSubscriptionInvoiceRequest[]): Promise<SubscriptionInvoiceOutcome[]> {
    if (reqs.length === 0) return [];
    try {
      return await this.pipeline.run((uow) => this.createBatch(uow, reqs), {}, { retryOn: keyTakenMeanwhile });
    } catch (failure) {
      if (reqs.length === 1) return [{ ok: false, error: failure }];
    }
    const out: SubscriptionInvoiceOutcome[] = [];
    // In order: a key repeated in the batch finds the invoice its first request made.
    for (const r of reqs) out.push((await this.createSubscriptionInvoices([r]))[0]!);
    return out;
  }

  private async createBatch(uow: UnitOfWork, reqs: readonly CreateSubscriptionInvoiceRequest[]): Promise<SubscriptionInvoiceOutcome[]> {
    const { item } = this.aggregates;
    const keys = [...new Set(reqs.map((r) => r.idempotency_key))];
    const claimed = await this.records.invoicesByKey(uow.tx, keys);
    // The first request of each unclaimed key makes its invoice; repeats answer that one.
    const makers = new Map<string, CreateSubscriptionInvoiceRequest>();
    for (const r of reqs) if (!claimed.has(r.idempotency_key) && !makers.has(r.idempotency_key)) makers.set(r.idempotency_key, r);
    const made = new Map<string, SubscriptionInvoiceOutcome>();
    if (makers.size > 0) {
      const ids = await this.records.pendingItemIds(
        uow.tx,
        [...makers.values()].map((r) => ({ customer: r.customer, subscription: r.subscription })),
      );
      const asked = [...makers.values()].flatMap((r) => (r.invoice_items ?? []).map((i) => i.id));
      await uow.preload(item, [...ids, ...asked]);
      const pending: InvoiceItem[] = [];
      for (const id of ids) {
        const s = await uow.load(item, id);
        if (s && !s.deleted) pending.push(s);
      }
      const taken = new Set<string>();
      for (const [k, req] of makers) {
        const undo = uow.checkpoint();
        try {
          // The items a subscription change asks for first (made once, by id): pending for this
          // request's invoice, or a later one's.
          pending.push(...this.makeItems(uow, req));
          if (req.pending_only) {
            made.set(k, { ok: true, id: req.invoice_items?.[0]?.id ?? k });
            continue;
          }
          const { invoice, items } = this.make(
            uow,
            req,
            pending.filter((p) => !taken.has(p.id)),
          );
          for (const i of items) taken.add(i);
          made.set(k, { ok: true, id: invoice.id, invoice });
        } catch (e) {
          undo();
          made.set(k, { ok: false, error: e });
        }
      }
    }
    return reqs.map((r) => {
      const existing = claimed.get(r.idempotency_key);
      return existing ? { ok: true, id: existing } : made.get(r.idempotency_key)!;
    });
  }

  /** The invoice items a request asks for that do not exist yet, created pending. */
  private makeItems(uow: UnitOfWork, req: CreateSubscriptionInvoiceRequest): InvoiceItem[] {
    const { item } = this.aggregates;
    const out: InvoiceItem[] = [];
    for (const asked of req.invoice_items ?? []) {
      uow.fresh(item, [asked.id]);
      const { events, state } = uow.executeLoaded(item, asked.id, {
        type: 'CreateSubscriptionItem',
        data: itemForSubscription(asked, req),
      });
      if (events.length > 0 && state) out.push(state);
    }
    return out;
  }

  /** The draft a request makes (recording its key), and the pending items (its customer's, of its subscription or none, in its currency) it takes. */
  private make(
    uow: UnitOfWork,
    req: CreateSubscriptionInvoiceRequest,
    pending: readonly InvoiceItem[],
  ): { invoice: Invoice; items: string[] } {
    const { invoice, item } = this.aggregates;
    const id = newId('invoice');
    const currency = req.currency.toLowerCase();
    const items = pending.filter(
      (p) => p.customer === req.customer && (p.subscription === null || p.subscription === req.subscription) && p.currency === currency,
    );
    const rated = req.lines.map((l) => lineForRated(l, newId('invoiceLineItem'), req.subscription));
    const itemLines = items.map((p) => lineForItem(p, newId('invoiceLineItem')));
    uow.fresh(invoice, [id]);
    const { state } = uow.executeLoaded(invoice, id, {
      type: 'CreateInvoice',
      data: {
        id,
        customer: req.customer,
        currency,
        created: req.created,
        billing_reason: req.billing_reason,
        collection_method: 'charge_automatically',
        auto_advance: true,
        automatically_finalizes_at: automaticFinalizationAt(
          req.billing_reason,
          req.created,
          this.settings.graceSeconds,
          ofChangeItemsOnly(req),
        ),
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
    });
    items.forEach((p, i) => uow.executeLoaded(item, p.id, { type: 'InvoiceItem', invoice: id, line: itemLines[i]!.id }));
    return { invoice: state!, items: items.map((p) => p.id) };
  }
}
