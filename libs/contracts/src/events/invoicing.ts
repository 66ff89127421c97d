import { z } from 'zod';
import { defineEvent, eventCatalog, type EventOf } from './core.js';

/**
 * invoicing's events. An invoice's stream (`invoice-<id>`) holds its lifecycle and lines, an
 * invoice item's (`invoiceitem-<id>`) the item's, and `invoicekey-<key>` the claim of a
 * `subscription_invoices.create` idempotency key. Amounts are integer minor units stored as
 * decimal strings (bigint in code); times are unix seconds.
 */
const minor = z.string().regex(/^-?\d+$/);
const metadata = z.record(z.string(), z.string());
const period = z.object({ start: z.number().int(), end: z.number().int() });

export const LineData = z.object({
  id: z.string(),
  type: z.enum(['subscription_item_details', 'invoice_item_details']),
  amount: minor,
  currency: z.string(),
  description: z.string().nullable(),
  period,
  quantity: z.number().int().nullable(),
  unit_amount_decimal: z.string().nullable(),
  price: z.string().nullable(),
  product: z.string().nullable(),
  /** The price has a billing meter: credits may apply to this line. */
  metered: z.boolean(),
  subscription: z.string().nullable(),
  subscription_item: z.string().nullable(),
  invoice_item: z.string().nullable(),
  metadata,
  /** A proration invoice item's line (absent in events recorded before prorations: false). */
  proration: z.boolean().optional(),
});
export type LineData = z.infer<typeof LineData>;

export const CreditApplicationData = z.object({
  line: z.string(),
  amount: minor,
  credit_balance_transaction: z.string(),
  credit_grant: z.string(),
});
export type CreditApplicationData = z.infer<typeof CreditApplicationData>;

export const BillingReason = z.enum([
  'automatic_pending_invoice_item_invoice',
  'manual',
  'quote_accept',
  'subscription',
  'subscription_create',
  'subscription_cycle',
  'subscription_threshold',
  'subscription_update',
  'upcoming',
]);
export type BillingReason = z.infer<typeof BillingReason>;
export const CollectionMethod = z.enum(['charge_automatically', 'send_invoice']);
export type CollectionMethod = z.infer<typeof CollectionMethod>;

export const InvoiceCreated = defineEvent(
  'InvoiceCreated',
  1,
  z.object({
    id: z.string(),
    customer: z.string(),
    currency: z.string(),
    created: z.number().int(),
    billing_reason: BillingReason,
    collection_method: CollectionMethod,
    auto_advance: z.boolean(),
    automatically_finalizes_at: z.number().int().nullable(),
    description: z.string().nullable(),
    metadata,
    test_clock: z.string().nullable(),
    subscription: z.string().nullable(),
    period_start: z.number().int(),
    period_end: z.number().int(),
    days_until_due: z.number().int().nullable(),
    due_date: z.number().int().nullable(),
    footer: z.string().nullable(),
    idempotency_key: z.string().nullable(),
    lines: z.array(LineData),
  }),
);

export const InvoiceUpdated = defineEvent(
  'InvoiceUpdated',
  1,
  z.object({
    at: z.number().int(),
    auto_advance: z.boolean().optional(),
    automatically_finalizes_at: z.number().int().nullable().optional(),
    collection_method: CollectionMethod.optional(),
    description: z.string().nullable().optional(),
    metadata: metadata.optional(),
    days_until_due: z.number().int().nullable().optional(),
    due_date: z.number().int().nullable().optional(),
    footer: z.string().nullable().optional(),
  }),
);

export const InvoiceLineAdded = defineEvent('InvoiceLineAdded', 1, z.object({ at: z.number().int(), line: LineData }));
export const InvoiceLineChanged = defineEvent('InvoiceLineChanged', 1, z.object({ at: z.number().int(), line: LineData }));
export const InvoiceLineRemoved = defineEvent('InvoiceLineRemoved', 1, z.object({ at: z.number().int(), line: z.string() }));

/** Subscription lines re-rated at finalization (usage that arrived during the grace period). */
export const InvoiceLinesRefreshed = defineEvent('InvoiceLinesRefreshed', 1, z.object({ at: z.number().int(), lines: z.array(LineData) }));

export const InvoiceCreditsApplied = defineEvent(
  'InvoiceCreditsApplied',
  1,
  z.object({ at: z.number().int(), applications: z.array(CreditApplicationData) }),
);

export const InvoiceFinalized = defineEvent(
  'InvoiceFinalized',
  1,
  z.object({ at: z.number().int(), number: z.string(), auto_advance: z.boolean().optional() }),
);

export const InvoicePaid = defineEvent(
  'InvoicePaid',
  1,
  z.object({ at: z.number().int(), amount_paid: minor, paid_out_of_band: z.boolean() }),
);

export const InvoiceVoided = defineEvent('InvoiceVoided', 1, z.object({ at: z.number().int() }));
export const InvoiceMarkedUncollectible = defineEvent('InvoiceMarkedUncollectible', 1, z.object({ at: z.number().int() }));
export const InvoiceSent = defineEvent('InvoiceSent', 1, z.object({ at: z.number().int() }));
export const InvoiceDeleted = defineEvent('InvoiceDeleted', 1, z.object({ at: z.number().int() }));

export type InvoiceEvent =
  | EventOf<typeof InvoiceCreated>
  | EventOf<typeof InvoiceUpdated>
  | EventOf<typeof InvoiceLineAdded>
  | EventOf<typeof InvoiceLineChanged>
  | EventOf<typeof InvoiceLineRemoved>
  | EventOf<typeof InvoiceLinesRefreshed>
  | EventOf<typeof InvoiceCreditsApplied>
  | EventOf<typeof InvoiceFinalized>
  | EventOf<typeof InvoicePaid>
  | EventOf<typeof InvoiceVoided>
  | EventOf<typeof InvoiceMarkedUncollectible>
  | EventOf<typeof InvoiceSent>
  | EventOf<typeof InvoiceDeleted>;

// ---- invoice items ------------------------------------------------------------------------

export const InvoiceItemData = z.object({
  id: z.string(),
  customer: z.string(),
  currency: z.string(),
  amount: minor,
  quantity: z.number().int(),
  unit_amount_decimal: z.string().nullable(),
  description: z.string().nullable(),
  date: z.number().int(),
  period,
  metadata,
  price: z.string().nullable(),
  product: z.string().nullable(),
  subscription: z.string().nullable(),
  test_clock: z.string().nullable(),
  invoice: z.string().nullable(),
  /** The line this item became on its invoice. */
  line: z.string().nullable(),
  /*
   * Items a subscription change made (issue 8 items 5 and 7); absent on one-off items and in
   * events recorded before them.
   */
  /** The subscription item that made it. */
  subscription_item: z.string().nullable().optional(),
  /** A proration of a licensed item (credit for unused time, charge for remaining time). */
  proration: z.boolean().optional(),
  /** It bills a metered price's usage: billing credits apply to it (docs/credits.md). */
  metered: z.boolean().optional(),
  /** A flexible credit proration: the invoice item whose charge it credits back. */
  credited_invoice_item: z.string().nullable().optional(),
});
export type InvoiceItemData = z.infer<typeof InvoiceItemData>;

export const InvoiceItemCreated = defineEvent('InvoiceItemCreated', 1, InvoiceItemData);
export const InvoiceItemUpdated = defineEvent(
  'InvoiceItemUpdated',
  1,
  InvoiceItemData.pick({
    amount: true,
    quantity: true,
    unit_amount_decimal: true,
    description: true,
    period: true,
    metadata: true,
    price: true,
    product: true,
  }),
);
/** A pending item was pulled into an invoice. */
export const InvoiceItemInvoiced = defineEvent('InvoiceItemInvoiced', 1, z.object({ invoice: z.string(), line: z.string() }));
export const InvoiceItemDeleted = defineEvent('InvoiceItemDeleted', 1, z.object({ at: z.number().int() }));

export type InvoiceItemEvent =
  | EventOf<typeof InvoiceItemCreated>
  | EventOf<typeof InvoiceItemUpdated>
  | EventOf<typeof InvoiceItemInvoiced>
  | EventOf<typeof InvoiceItemDeleted>;

// ---- idempotency keys ----------------------------------------------------------------------

/**
 * `invoicekey-<key>`: the first `subscription_invoices.create` with this key made `invoice`. No
 * longer appended (the invoice's `InvoiceCreated` records its key, unique in the `invoices` read
 * model, issue 12); still accepted, so stores that hold it read and replay as before.
 */
export const InvoiceKeyClaimed = defineEvent('InvoiceKeyClaimed', 1, z.object({ key: z.string(), invoice: z.string() }));

/** Everything invoicing's event store accepts. */
export const INVOICING_EVENTS = eventCatalog([
  InvoiceCreated,
  InvoiceUpdated,
  InvoiceLineAdded,
  InvoiceLineChanged,
  InvoiceLineRemoved,
  InvoiceLinesRefreshed,
  InvoiceCreditsApplied,
  InvoiceFinalized,
  InvoicePaid,
  InvoiceVoided,
  InvoiceMarkedUncollectible,
  InvoiceSent,
  InvoiceDeleted,
  InvoiceItemCreated,
  InvoiceItemUpdated,
  InvoiceItemInvoiced,
  InvoiceItemDeleted,
  InvoiceKeyClaimed,
]);
