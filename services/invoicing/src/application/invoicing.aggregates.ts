import { stripeEvent, type InvoiceEvent, type InvoiceItemEvent } from '@meterflow/contracts';
import {
  announceStripeEvent,
  renderAnnouncements,
  type AggregateType,
  type CommandContext,
  type NewEvent,
  type StoredEvent,
  type StripeEventAnnouncement,
  type StripeEventRendering,
} from '@meterflow/event-store';
import { newId, sameJson } from '@meterflow/kernel';
import { invoiceDecider, stripeTypesFor, type InvoiceCommand, type InvoiceState } from '../domain/invoice.decider.js';
import { invoiceItemDecider, renderInvoiceItem, type InvoiceItemCommand, type InvoiceItemState } from '../domain/invoice-item.decider.js';
import { renderInvoice } from '../domain/invoice.render.js';
import type { InvoiceProjections } from './ports.js';
import { invoiceItemStream, invoiceStream } from './streams.js';

/**
 * The invoicing aggregates as the command pipeline runs them: each change is announced as the
 * Stripe events of today (`invoice.*`, `invoiceitem.*`, with `previous_attributes` on
 * `*.updated`) and projected, all in the unit's transaction.
 */
export interface InvoicingAggregates {
  invoice: AggregateType<InvoiceState, InvoiceCommand, InvoiceEvent>;
  item: AggregateType<InvoiceItemState, InvoiceItemCommand, InvoiceItemEvent>;
}
export const AGGREGATES = Symbol('INVOICING_AGGREGATES');

export function invoicingAggregates(projections: InvoiceProjections): InvoicingAggregates {
  return {
    invoice: {
      name: 'invoice',
      streamId: invoiceStream,
      decider: invoiceDecider,
      announce: announceInvoice,
      // Folded, never snapshotted, and stored as `json` (migration 0005): the relay renders from the unit's states.
      announcesFromMemory: true,
      project: (tx, changes) => projections.invoices(tx, changes),
    },
    item: {
      name: 'invoiceitem',
      streamId: invoiceItemStream,
      decider: invoiceItemDecider,
      announce: announceItem,
      project: (tx, changes) => projections.items(tx, changes),
    },
  };
}

const request = (ctx: CommandContext) => ({ requestId: ctx.requestId ?? null, idempotencyKey: ctx.idempotencyKey ?? null });

/**
 * The Stripe events one invoice change is announced as, stored as their facts only
 * (`StripeEventAnnounced`): the invoice object is rendered from the stream when the outbox relay
 * publishes them (`invoiceEventRendering`), not stored three times per finalization.
 */
function announceInvoice({ event, after }: { event: InvoiceEvent; after: InvoiceState }, ctx: CommandContext): NewEvent[] {
  const types = stripeTypesFor(event);
  if (types.length === 0 || !after) return [];
  const created = event.type === 'InvoiceCreated' ? event.data.created : event.data.at;
  return types.map((type) => announceStripeEvent(type, created, ctx));
}

/**
 * How the relay renders an announced `invoice.*` event: `data.object` is the invoice right after
 * the invoice event stored before the announcement, and an `*.updated` event's
 * `previous_attributes` the top-level fields that event changed; exactly what was announced at
 * decide time.
 */
export const invoiceEventRendering: StripeEventRendering<InvoiceState, InvoiceEvent> = {
  renders: (type) => type.startsWith('invoice.'),
  aggregate: { name: 'invoice', decider: invoiceDecider },
  render: (type, { before, after }) => {
    if (!after) throw new Error(`invoice: no invoice to render for ${type}`);
    const object = renderInvoice(after) as unknown as Record<string, unknown>;
    const updated = type.endsWith('.updated') && before && !before.deleted;
    return updated
      ? { object, previousAttributes: changedAttributes(renderInvoice(before) as unknown as Record<string, unknown>, object) }
      : { object };
  },
};

/** The Stripe `event` objects (JSON text) of an invoice stream's announcements, in the order given. Pure: `history` is the whole stream. */
export const renderInvoiceEvents = (
  history: readonly StoredEvent[],
  announcements: readonly Pick<StripeEventAnnouncement, 'streamPosition' | 'data'>[],
): string[] => renderAnnouncements(invoiceEventRendering, history, announcements);

/** Items announce their creation and deletion only (being put on an invoice shows on the invoice). */
function announceItem({ event, after }: { event: InvoiceItemEvent; after: InvoiceItemState }, ctx: CommandContext): NewEvent[] {
  if (!after || (event.type !== 'InvoiceItemCreated' && event.type !== 'InvoiceItemDeleted')) return [];
  const [type, at] =
    event.type === 'InvoiceItemCreated' ? ['invoiceitem.created', event.data.date] : ['invoiceitem.deleted', event.data.at];
  return [stripeEvent(newId('event'), type, renderInvoiceItem(after) as unknown as Record<string, unknown>, at, request(ctx))];
}

/** Stripe's `previous_attributes` of an `*.updated` event: the old values of the top-level fields that changed. */
function changedAttributes(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(before)) if (!sameJson(v, after[k])) out[k] = v;
  return out;
}
