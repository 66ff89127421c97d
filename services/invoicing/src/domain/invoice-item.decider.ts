import { Dec, DomainError, assertNever, formatDecimal, roundMinor } from '@meterflow/kernel';
import {
  InvoiceItemCreated,
  InvoiceItemDeleted,
  InvoiceItemInvoiced,
  InvoiceItemUpdated,
  type InvoiceItemData,
  type InvoiceItemEvent,
  type LineData,
  type RatedLine,
  type Stripe,
  type SubscriptionInvoiceItem,
} from '@meterflow/contracts';

export interface InvoiceItem extends InvoiceItemData {
  deleted: boolean;
}
export type InvoiceItemState = InvoiceItem | null;
export const initialInvoiceItemState = (): InvoiceItemState => null;

/**
 * An item's amount: either given (`amount`, quantity 1 unless stated) or `unit_amount_decimal`
 * x `quantity`, rounded once, half up.
 */
export function itemAmount(input: { amount?: bigint; unit_amount_decimal?: string; quantity: number }): {
  amount: bigint;
  unit_amount_decimal: string;
} {
  if (input.amount !== undefined) {
    // Stripe keeps unit_amount_decimal to 12 decimal places.
    const unit = input.quantity === 0 ? new Dec(0) : new Dec(input.amount.toString()).div(input.quantity).toDecimalPlaces(12);
    return { amount: input.amount, unit_amount_decimal: formatDecimal(unit) };
  }
  if (input.unit_amount_decimal === undefined)
    throw new DomainError('parameter_missing', 'You must specify either `amount`, `unit_amount_decimal` or `pricing[price]`.', {
      param: 'amount',
    });
  const unit = new Dec(input.unit_amount_decimal);
  return { amount: roundMinor(unit.mul(input.quantity)), unit_amount_decimal: formatDecimal(unit) };
}

export type InvoiceItemCommand =
  | { type: 'CreateInvoiceItem'; data: Parameters<typeof InvoiceItemCreated>[0] }
  /** A subscription change's item: idempotent by id (a repeated hand-over makes it once). */
  | { type: 'CreateSubscriptionItem'; data: Parameters<typeof InvoiceItemCreated>[0] }
  | { type: 'UpdateInvoiceItem'; changes: Parameters<typeof InvoiceItemUpdated>[0] }
  | { type: 'InvoiceItem'; invoice: string; line: string }
  | { type: 'DeleteInvoiceItem'; at: number; invoiceStatus: string | null };

function existing(state: InvoiceItemState): InvoiceItem {
  if (!state || state.deleted)
    throw new DomainError('resource_missing', `No such invoiceitem: '${state?.id ?? ''}'`, { param: 'id', status: 404 });
  return state;
}

export function decideInvoiceItem(command: InvoiceItemCommand, state: InvoiceItemState): InvoiceItemEvent[] {
  switch (command.type) {
    case 'CreateInvoiceItem':
      if (state) throw new DomainError('resource_already_exists', `Invoice item ${command.data.id} already exists.`);
      return [InvoiceItemCreated(command.data)];
    case 'CreateSubscriptionItem':
      return state ? [] : [InvoiceItemCreated(command.data)];
    case 'UpdateInvoiceItem':
      existing(state);
      return [InvoiceItemUpdated(command.changes)];
    case 'InvoiceItem': {
      const item = existing(state);
      if (item.invoice === command.invoice) return [];
      if (item.invoice) throw new DomainError('invoice_not_editable', `Invoice item ${item.id} is already on invoice ${item.invoice}.`);
      return [InvoiceItemInvoiced({ invoice: command.invoice, line: command.line })];
    }
    case 'DeleteInvoiceItem': {
      existing(state);
      if (command.invoiceStatus !== null && command.invoiceStatus !== 'draft')
        throw new DomainError('invoice_not_editable', 'You can only delete invoice items that are pending or on a draft invoice.');
      return [InvoiceItemDeleted({ at: command.at })];
    }
    default:
      return assertNever(command);
  }
}

export function evolveInvoiceItem(state: InvoiceItemState, event: InvoiceItemEvent): InvoiceItemState {
  switch (event.type) {
    case 'InvoiceItemCreated':
      return { ...event.data, deleted: false };
    case 'InvoiceItemUpdated':
      return state ? { ...state, ...event.data } : state;
    case 'InvoiceItemInvoiced':
      return state ? { ...state, invoice: event.data.invoice, line: event.data.line } : state;
    case 'InvoiceItemDeleted':
      return state ? { ...state, deleted: true } : state;
    default:
      return state;
  }
}

/** The invoice item aggregate as the command pipeline runs it (`{ initialState, decide, evolve }`). */
export const invoiceItemDecider = { initialState: initialInvoiceItemState, decide: decideInvoiceItem, evolve: evolveInvoiceItem };

/** The invoice line an invoice item becomes. */
export function lineForItem(item: InvoiceItemData, lineId: string): LineData {
  return {
    id: lineId,
    type: 'invoice_item_details',
    amount: item.amount,
    currency: item.currency,
    description: item.description,
    period: item.period,
    quantity: item.quantity,
    unit_amount_decimal: item.unit_amount_decimal,
    price: item.price,
    product: item.product,
    // One-off items and prorations are not usage: credits (scoped to metered prices) never apply
    // to them. An item billing a metered price's usage (flexible, price changed or removed
    // mid-cycle) is: credits apply to it (docs/credits.md).
    metered: item.metered ?? false,
    subscription: item.subscription,
    subscription_item: item.subscription_item ?? null,
    invoice_item: item.id,
    metadata: item.metadata,
    ...(item.proration ? { proration: true } : {}),
  };
}

/** The invoice item a subscription change asks for (issue 8 items 5 and 7), pending until invoiced. */
export function itemForSubscription(
  it: SubscriptionInvoiceItem,
  req: { customer: string; subscription: string; currency: string; created: number; test_clock: string | null },
): InvoiceItemData {
  const { unit_amount_decimal } =
    it.unit_amount_decimal !== null
      ? { unit_amount_decimal: it.unit_amount_decimal }
      : itemAmount({ amount: BigInt(it.amount), quantity: it.quantity });
  return {
    id: it.id,
    customer: req.customer,
    currency: req.currency.toLowerCase(),
    amount: String(it.amount),
    quantity: it.quantity,
    unit_amount_decimal,
    description: it.description,
    date: req.created,
    period: it.period,
    metadata: {},
    price: it.price,
    product: it.product,
    subscription: req.subscription,
    test_clock: req.test_clock,
    invoice: null,
    line: null,
    subscription_item: it.subscription_item,
    proration: it.proration,
    metered: it.meter !== null,
    credited_invoice_item: it.credited_invoice_item,
  };
}

/** The invoice line a rated subscription item period becomes. */
export function lineForRated(r: RatedLine, lineId: string, subscription: string): LineData {
  return {
    id: lineId,
    type: 'subscription_item_details',
    amount: String(r.amount),
    currency: r.currency,
    description: r.description,
    period: r.period,
    quantity: r.quantity,
    unit_amount_decimal: r.unit_amount_decimal,
    price: r.price,
    product: r.product,
    metered: r.meter !== null,
    subscription,
    subscription_item: r.subscription_item,
    invoice_item: null,
    metadata: {},
  };
}

export function renderInvoiceItem(item: InvoiceItem): Stripe.InvoiceItem {
  return {
    id: item.id,
    object: 'invoiceitem',
    amount: Number(item.amount),
    currency: item.currency,
    customer: item.customer,
    customer_account: null,
    date: item.date,
    description: item.description,
    // Stripe: "Always false for prorations".
    discountable: !item.proration,
    discounts: [],
    invoice: item.invoice,
    livemode: false,
    metadata: item.metadata,
    net_amount: Number(item.amount),
    parent: item.subscription
      ? {
          type: 'subscription_details',
          subscription_details: {
            subscription: item.subscription,
            ...(item.subscription_item ? { subscription_item: item.subscription_item } : {}),
          },
        }
      : null,
    period: item.period,
    pricing: {
      type: 'price_details',
      ...(item.price ? { price_details: { price: item.price, product: item.product ?? '' } } : {}),
      unit_amount_decimal: item.unit_amount_decimal,
    },
    proration: item.proration ?? false,
    proration_details: {
      credited_items: item.credited_invoice_item ? { type: 'invoice_item', invoice_item: item.credited_invoice_item } : null,
      discount_amounts: [],
    },
    quantity: item.quantity,
    quantity_decimal: String(item.quantity),
    tax_rates: [],
    test_clock: item.test_clock,
  } as unknown as Stripe.InvoiceItem;
}
