import type { ApiRequest, LineData, Stripe } from '@meterflow/contracts';
import type { CommandPipeline } from '@meterflow/event-store';
import { DomainError, newId } from '@meterflow/kernel';
import { enumOf, obj, rejectUnknown, str } from '@meterflow/stripe-api';
import { previewDraft, previewInvoiceId, previewLineId, previewLines, renderPreview } from '../domain/invoice-preview.js';
import type { InvoicingAggregates } from './invoicing.aggregates.js';
import type { PendingItemReads, PreviewPeers } from './ports.js';

/** Accepted for SDK compatibility and ignored: Meterflow has no tax, discounts or schedules. */
const IGNORED = ['automatic_tax', 'customer_details', 'discounts', 'invoice_items', 'issuer', 'on_behalf_of', 'expand'];

const bodyOf = (id: string): string => id.slice(id.indexOf('_') + 1);

/**
 * `invoices.create_preview` (issue 8 item 8): the invoice that would be issued, written nowhere.
 * Rating says what the subscription would bill (usage so far, or the change in
 * `subscription_details`), invoicing adds the customer's pending items as it would on that
 * invoice, and the ledger says which credits would pay it at the customer's "now".
 */
export class InvoicePreview {
  constructor(
    private readonly pipeline: CommandPipeline,
    private readonly aggregates: InvoicingAggregates,
    private readonly peers: PreviewPeers,
    private readonly pending: PendingItemReads,
  ) {}

  async preview(req: ApiRequest): Promise<Stripe.Invoice> {
    const p = req.params;
    rejectUnknown(p, ['customer', 'subscription', 'subscription_details', 'preview_mode', 'currency', ...IGNORED]);
    const customer = str(p, 'customer');
    const subscription = str(p, 'subscription');
    enumOf(p, 'preview_mode', ['next', 'recurring'] as const);
    const details = obj(p, 'subscription_details');
    if (!customer && !subscription)
      throw new DomainError('parameter_missing', 'Missing required param: customer or subscription.', { param: 'customer' });
    const rated = await this.peers.previewSubscriptionInvoice({
      ...(customer ? { customer } : {}),
      ...(subscription ? { subscription } : {}),
      ...(details ? { subscription_details: details } : {}),
    });
    const sub = rated.invoice;
    const currency = (sub?.currency ?? str(p, 'currency') ?? '').toLowerCase();

    const ids = await this.pending.pendingItemIds(rated.customer, sub?.subscription ?? null);
    const loaded = await this.pipeline.read(this.aggregates.item, ids);
    const items = ids.flatMap((id) => {
      const s = loaded.get(id)?.state;
      return s && !s.deleted && s.invoice === null && (!currency || s.currency === currency) ? [s] : [];
    });
    if (!sub && items.length === 0)
      throw new DomainError('invoice_upcoming_none', `No upcoming invoices for customer: ${rated.customer}`, { status: 404 });

    const line = () => previewLineId(bodyOf(newId('invoiceLineItem')));
    const lines: LineData[] = previewLines(sub, items, { customer: rated.customer, created: rated.at, test_clock: rated.test_clock }, line);
    const cur = currency || items[0]!.currency;
    const { applications } = lines.some((l) => l.metered && BigInt(l.amount) > 0n)
      ? await this.peers.previewCredits({
          customer: rated.customer,
          currency: cur,
          at: rated.at,
          lines: lines.map((l) => ({ id: l.id, amount: Number(l.amount), price: l.price, metered: l.metered })),
        })
      : { applications: [] };
    const draft = previewDraft(
      {
        id: previewInvoiceId(bodyOf(newId('invoice'))),
        customer: rated.customer,
        currency: cur,
        created: rated.at,
        billing_reason: sub?.billing_reason ?? 'upcoming',
        subscription: sub?.subscription ?? null,
        period_start: sub?.period_start ?? rated.at,
        period_end: sub?.period_end ?? rated.at,
        test_clock: rated.test_clock,
      },
      lines,
      applications,
    );
    return renderPreview(draft);
  }
}
