import { STRIPE_EVENT_ANNOUNCED, StripeEventAnnounced, stripeEvent, type InvoiceEvent, type InvoiceItemEvent } from '@meterflow/contracts';
import { toJson, type AggregateType, type CommandContext, type NewEvent, type StoredEvent } from '@meterflow/event-store';
import { newId } from '@meterflow/kernel';
import { invoiceDecider, stripeTypesFor, type InvoiceCommand, type InvoiceState } from '../domain/invoice.decider.js';
import { invoiceItemDecider, renderInvoiceItem, type InvoiceItemCommand, type InvoiceItemState } from '../domain/invoice-item.decider.js';
import { invoiceKeyDecider, type InvoiceKeyCommand, type InvoiceKeyEvent, type InvoiceKeyState } from '../domain/invoice-key.decider.js';
import { renderInvoice } from '../domain/invoice.render.js';
import type { InvoiceProjections } from './ports.js';
import { invoiceItemStream, invoiceKeyStream, invoiceStream } from './streams.js';

/**
 * The invoicing aggregates as the command pipeline runs them: each change is announced as the
 * Stripe events of today (`invoice.*`, `invoiceitem.*`, with `previous_attributes` on
 * `*.updated`) and projected, all in the unit's transaction.
 */
export interface InvoicingAggregates {
  invoice: AggregateType<InvoiceState, InvoiceCommand, InvoiceEvent>;
  item: AggregateType<InvoiceItemState, InvoiceItemCommand, InvoiceItemEvent>;
  /** `subscription_invoices.create[_many]` idempotency keys: the first claim names the key's invoice. */
  key: AggregateType<InvoiceKeyState, InvoiceKeyCommand, InvoiceKeyEvent>;
}
export const AGGREGATES = Symbol('INVOICING_AGGREGATES');

export function invoicingAggregates(projections: InvoiceProjections): InvoicingAggregates {
  return {
    invoice: {
      name: 'invoice',
      streamId: invoiceStream,
      decider: invoiceDecider,
      announce: announceInvoice,
      project: (tx, changes) => projections.invoices(tx, changes),
    },
    item: {
      name: 'invoiceitem',
      streamId: invoiceItemStream,
      decider: invoiceItemDecider,
      announce: announceItem,
      project: (tx, changes) => projections.items(tx, changes),
    },
    key: { name: 'invoicekey', streamId: invoiceKeyStream, decider: invoiceKeyDecider },
  };
}

const request = (ctx: CommandContext) => ({ requestId: ctx.requestId ?? null, idempotencyKey: ctx.idempotencyKey ?? null });

/**
 * The Stripe events one invoice change is announced as, stored as their facts only
 * (`StripeEventAnnounced`): the invoice object is rendered from the stream when the outbox relay
 * publishes them (`renderInvoiceEvents`), not stored three times per finalization.
 */
function announceInvoice({ event, after }: { event: InvoiceEvent; after: InvoiceState }, ctx: CommandContext): NewEvent[] {
  const types = stripeTypesFor(event);
  if (types.length === 0 || !after) return [];
  const created = event.type === 'InvoiceCreated' ? event.data.created : event.data.at;
  const r = request(ctx);
  return types.map((type) =>
    StripeEventAnnounced({ id: newId('event'), type, created, request: { id: r.requestId, idempotency_key: r.idempotencyKey } }),
  );
}

/** An announced Stripe event to render: where it is stored and its facts. */
export interface InvoiceAnnouncement {
  streamPosition: number;
  data: { id: string; type: string; created: number; request: { id: string | null; idempotency_key: string | null } };
}

/**
 * The Stripe `event` objects (JSON text) of an invoice stream's announcements, in the order
 * given: `data.object` is the invoice right after the invoice event stored before the
 * announcement, and an `*.updated` event's `previous_attributes` the top-level fields that event
 * changed; exactly what was announced at decide time. Pure: `history` is the whole stream.
 */
export function renderInvoiceEvents(history: readonly StoredEvent[], announcements: readonly InvoiceAnnouncement[]): string[] {
  const at = new Map<number, { before: InvoiceState; after: InvoiceState }>();
  const wanted = new Set(announcements.map((a) => a.streamPosition));
  let before: InvoiceState = invoiceDecider.initialState();
  let after: InvoiceState = before;
  for (const e of history) {
    if (e.type === STRIPE_EVENT_ANNOUNCED) {
      if (wanted.has(e.streamPosition)) at.set(e.streamPosition, { before, after });
    } else if (e.type !== 'StripeEventEmitted') {
      before = after;
      after = invoiceDecider.evolve(after, e as unknown as InvoiceEvent);
    }
  }
  return announcements.map((a) => {
    const states = at.get(a.streamPosition);
    if (!states?.after) throw new Error(`no invoice state for the announcement at position ${a.streamPosition}`);
    const object = renderInvoice(states.after) as unknown as Record<string, unknown>;
    const updated = a.data.type.endsWith('.updated') && states.before && !states.before.deleted;
    const previous = updated ? changedAttributes(renderInvoice(states.before!) as unknown as Record<string, unknown>, object) : null;
    const evt = stripeEvent(a.data.id, a.data.type, object, a.data.created, {
      requestId: a.data.request.id,
      idempotencyKey: a.data.request.idempotency_key,
      ...(previous ? { previousAttributes: previous } : {}),
    });
    return toJson(evt.data);
  });
}

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
  for (const [k, v] of Object.entries(before)) if (JSON.stringify(v) !== JSON.stringify(after[k])) out[k] = v;
  return out;
}
