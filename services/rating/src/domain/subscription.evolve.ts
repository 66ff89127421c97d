import type { CreateSubscriptionInvoiceRequest, SubscriptionInvoiceItem } from '@meterflow/contracts';
import type { SubscriptionEvent } from './subscription.commands.js';
import type { SubscriptionItemState, SubscriptionState } from './subscription.types.js';

/** A subscription's state from its events (total, never throws). */

/** An invoice request recorded with a close: pending, or already accepted by invoicing. */
function handedOver(
  s: SubscriptionState,
  invoice: CreateSubscriptionInvoiceRequest | null,
  invoiceId: string | undefined,
): Pick<SubscriptionState, 'pending_invoices' | 'latest_invoice'> {
  if (!invoice) return { pending_invoices: s.pending_invoices, latest_invoice: s.latest_invoice };
  if (invoiceId) return { pending_invoices: s.pending_invoices, latest_invoice: invoiceId };
  return { pending_invoices: [...s.pending_invoices, invoice], latest_invoice: s.latest_invoice };
}

/** Items roll into a new period: the debits of the old one no longer stand. */
const rolled = (it: SubscriptionItemState, start: number, end: number): SubscriptionItemState => {
  const { debits: _, ...rest } = it;
  return { ...rest, current_period_start: start, current_period_end: end };
};

/** An invoice request was recorded: the pending invoice items go on it (unless it only makes them). */
const carried = (
  s: SubscriptionState,
  invoice: CreateSubscriptionInvoiceRequest | null,
): Pick<SubscriptionState, 'pending_invoice_items'> =>
  s.pending_invoice_items === undefined || !invoice || invoice.pending_only ? {} : { pending_invoice_items: [] };

/** A change's invoice items: pending for the next invoice, or on the invoice it asked for at once. */
function changeItems(
  s: SubscriptionState,
  data: { invoice_items?: SubscriptionInvoiceItem[] | undefined; invoice?: CreateSubscriptionInvoiceRequest | null | undefined },
): Pick<SubscriptionState, 'pending_invoices' | 'pending_invoice_items'> {
  if (!data.invoice)
    return { pending_invoices: s.pending_invoices, ...(s.pending_invoice_items ? { pending_invoice_items: s.pending_invoice_items } : {}) };
  return {
    pending_invoices: [...s.pending_invoices, data.invoice],
    pending_invoice_items: data.invoice.pending_only ? [...(s.pending_invoice_items ?? []), ...(data.invoice_items ?? [])] : [],
  };
}

export function evolve(state: SubscriptionState | null, event: SubscriptionEvent): SubscriptionState | null {
  if (event.type === 'SubscriptionCreated') return event.data.subscription;
  if (!state) return state;
  const s = state;
  switch (event.type) {
    case 'SubscriptionUpdated':
      return { ...s, ...event.data.changes };
    case 'SubscriptionItemAdded':
      return {
        ...s,
        items: [...s.items, event.data.item],
        pending_lines: [...s.pending_lines, ...(event.data.pending_lines ?? [])],
        ...changeItems(s, event.data),
      };
    case 'SubscriptionItemUpdated':
      return {
        ...s,
        items: s.items.map((it) => (it.id === event.data.item.id ? event.data.item : it)),
        pending_lines: [...s.pending_lines, ...event.data.pending_lines],
        ...changeItems(s, event.data),
      };
    case 'SubscriptionItemDeleted':
      return {
        ...s,
        items: s.items.filter((it) => it.id !== event.data.item),
        pending_lines: [...s.pending_lines, ...event.data.pending_lines],
        ...changeItems(s, event.data),
      };
    case 'SubscriptionBillingModeMigrated':
      return { ...s, billing_mode: { type: 'flexible', updated_at: event.data.updated_at } };
    case 'SubscriptionPeriodClosed': {
      const { period_end: start, next_period_end: end } = event.data;
      return {
        ...s,
        period: { start, end },
        items: s.items.map((it) => rolled(it, start, end)),
        ...handedOver(s, event.data.invoice, event.data.invoice_id),
        ...carried(s, event.data.invoice),
        pending_lines: [],
      };
    }
    case 'SubscriptionBillingCycleAnchorReset': {
      const { anchor: start, period_end: end } = event.data;
      return {
        ...s,
        billing_cycle_anchor: start,
        billing_cycle_anchor_config: null,
        period: { start, end },
        // a scheduled cancellation at the old period end follows the new one
        cancel_at: s.cancel_at_period_end ? end : s.cancel_at,
        items: s.items.map((it) => rolled(it, start, end)),
        pending_invoices: [...s.pending_invoices, event.data.invoice],
        ...carried(s, event.data.invoice),
        pending_lines: [],
      };
    }
    case 'SubscriptionCanceled':
      return {
        ...s,
        status: 'canceled',
        canceled_at: event.data.canceled_at,
        ended_at: event.data.ended_at,
        cancellation_details: event.data.cancellation_details,
        ...handedOver(s, event.data.invoice, event.data.invoice_id),
        // Canceled: no later invoice of the subscription; items made pending stay pending in invoicing.
        ...(s.pending_invoice_items ? { pending_invoice_items: [] } : {}),
        pending_lines: [],
      };
    case 'SubscriptionInvoiceAcknowledged': {
      const acked = s.pending_invoices.find((p) => p.idempotency_key === event.data.idempotency_key);
      return {
        ...s,
        // Items made pending only (no invoice): the reply names an item, not an invoice.
        latest_invoice: acked?.pending_only ? s.latest_invoice : event.data.invoice,
        pending_invoices: s.pending_invoices.filter((p) => p.idempotency_key !== event.data.idempotency_key),
      };
    }
    default:
      return s;
  }
}
