import { z } from 'zod';
import type { CreateSubscriptionInvoiceRequest, RatedLine } from '../internal-ops.js';
import { defineEvent, eventCatalog } from './core.js';

/**
 * rating's events: one zod schema per type. The documents they carry whole (customers,
 * products, prices, test clocks, subscription state) are schemas here too, and rating's domain
 * types are inferred from them (services/rating/src/domain), so a shape is written once.
 * Amounts are integer minor units, times unix seconds, decimals strings.
 * Over ~300 lines by choice: the catalog of one service's events, a schema each.
 */

// ---- building blocks -----------------------------------------------------------------------

const unixSeconds = z.int().nonnegative();
const currency = z.string().regex(/^[a-z]{3}$/, 'a lowercase ISO 4217 code');
/** A non-negative decimal as a string (`unit_amount_decimal`); at most 12 decimal places. */
const decimalString = z.string().regex(/^\d+(\.\d{1,12})?$/, 'a non-negative decimal string');
const metadata = z.record(z.string(), z.string());
const previousAttributes = z.record(z.string(), z.unknown());
const idWithPrefix = (prefix: string) => z.string().regex(new RegExp(`^${prefix}_[A-Za-z0-9_]+$`), `an id starting with ${prefix}_`);
const customerId = idWithPrefix('cus');
const priceId = idWithPrefix('price');
/** Products may be created with a caller-chosen id (`id` param), so any non-empty string. */
const productId = z.string().min(1);
const subscriptionId = idWithPrefix('sub');
const subscriptionItemId = idWithPrefix('si');
const testClockId = idWithPrefix('clock');
const invoiceId = idWithPrefix('in');
const invoiceItemId = idWithPrefix('ii');
const meterId = idWithPrefix('mtr');

// ---- billing periods -----------------------------------------------------------------------

export const BillingInterval = z.enum(['day', 'week', 'month', 'year']);
export type BillingInterval = z.infer<typeof BillingInterval>;

export const BillingRecurrence = z.strictObject({ interval: BillingInterval, interval_count: z.int().min(1) });
export type BillingRecurrence = z.infer<typeof BillingRecurrence>;

/** `billing_cycle_anchor_config` (month: 1-12, for yearly prices). */
export const BillingAnchorConfig = z.strictObject({
  day_of_month: z.int().min(1).max(31),
  hour: z.int().min(0).max(23).optional(),
  minute: z.int().min(0).max(59).optional(),
  second: z.int().min(0).max(59).optional(),
  month: z.int().min(1).max(12).optional(),
});
export type BillingAnchorConfig = z.infer<typeof BillingAnchorConfig>;

// ---- catalog documents ---------------------------------------------------------------------

export const CustomerAddressDocument = z.strictObject({
  city: z.string().nullable(),
  country: z.string().nullable(),
  line1: z.string().nullable(),
  line2: z.string().nullable(),
  postal_code: z.string().nullable(),
  state: z.string().nullable(),
});
export type CustomerAddressDocument = z.infer<typeof CustomerAddressDocument>;

/** A customer as Stripe prints it (the state of a customer stream). */
export const CustomerDocument = z.strictObject({
  id: customerId,
  object: z.literal('customer'),
  address: CustomerAddressDocument.nullable(),
  /** Minor units; negative is credit. */
  balance: z.int(),
  created: unixSeconds,
  currency: currency.nullable(),
  default_source: z.null(),
  delinquent: z.boolean(),
  description: z.string().nullable(),
  discount: z.null(),
  email: z.string().nullable(),
  invoice_prefix: z.string().min(1).max(12),
  invoice_settings: z.strictObject({
    custom_fields: z.null(),
    default_payment_method: z.null(),
    footer: z.null(),
    rendering_options: z.null(),
  }),
  livemode: z.literal(false),
  metadata,
  name: z.string().nullable(),
  next_invoice_sequence: z.int().min(1),
  phone: z.string().nullable(),
  preferred_locales: z.array(z.string()),
  /** Stored as given (Stripe's `shipping` hash); rating does not read it. */
  shipping: z.record(z.string(), z.unknown()).nullable(),
  tax_exempt: z.enum(['none', 'exempt', 'reverse']),
  test_clock: testClockId.nullable(),
});
export type CustomerDocument = z.infer<typeof CustomerDocument>;

/** A product as Stripe prints it (the state of a product stream). */
export const ProductDocument = z.strictObject({
  id: productId,
  object: z.literal('product'),
  active: z.boolean(),
  created: unixSeconds,
  default_price: priceId.nullable(),
  description: z.string().nullable(),
  images: z.array(z.string()),
  livemode: z.literal(false),
  marketing_features: z.array(z.strictObject({ name: z.string() })),
  metadata,
  name: z.string(),
  package_dimensions: z.null(),
  shippable: z.boolean().nullable(),
  statement_descriptor: z.string().nullable(),
  tax_code: z.string().nullable(),
  tax_details: z.null(),
  type: z.literal('service'),
  unit_label: z.string().nullable(),
  updated: unixSeconds,
  url: z.string().nullable(),
});
export type ProductDocument = z.infer<typeof ProductDocument>;

export const PriceTierDocument = z.strictObject({
  flat_amount: z.int().nonnegative().nullable(),
  flat_amount_decimal: decimalString.nullable(),
  unit_amount: z.int().nonnegative().nullable(),
  unit_amount_decimal: decimalString.nullable(),
  /** Null on the last tier (`inf`). */
  up_to: z.int().min(1).nullable(),
});
export type PriceTierDocument = z.infer<typeof PriceTierDocument>;

/** A price as Stripe prints it (the state of a price stream); its pricing terms never change. */
export const PriceDocument = z.strictObject({
  id: priceId,
  object: z.literal('price'),
  active: z.boolean(),
  billing_scheme: z.enum(['per_unit', 'tiered']),
  created: unixSeconds,
  currency,
  custom_unit_amount: z.null(),
  livemode: z.literal(false),
  lookup_key: z.string().nullable(),
  metadata,
  nickname: z.string().nullable(),
  product: productId,
  recurring: z
    .strictObject({
      interval: BillingInterval,
      interval_count: z.int().min(1),
      meter: meterId.nullable(),
      trial_period_days: z.int().nonnegative().nullable(),
      usage_type: z.enum(['licensed', 'metered']),
    })
    .nullable(),
  tax_behavior: z.enum(['exclusive', 'inclusive', 'unspecified']).nullable(),
  /** Present on tiered prices only. */
  tiers: z.array(PriceTierDocument).min(1).optional(),
  tiers_mode: z.enum(['graduated', 'volume']).nullable(),
  transform_quantity: z.strictObject({ divide_by: z.int().min(1), round: z.enum(['up', 'down']) }).nullable(),
  type: z.enum(['one_time', 'recurring']),
  unit_amount: z.int().nonnegative().nullable(),
  unit_amount_decimal: decimalString.nullable(),
});
export type PriceDocument = z.infer<typeof PriceDocument>;

// ---- test clocks ---------------------------------------------------------------------------

/** A test clock's state (the state of a test clock stream). */
export const TestClockDocument = z.strictObject({
  id: testClockId,
  created: unixSeconds,
  deletes_after: unixSeconds,
  frozen_time: unixSeconds,
  name: z.string().nullable(),
  status: z.enum(['ready', 'advancing', 'internal_failure']),
  /** While advancing: where the clock is going. */
  target: unixSeconds.nullable(),
  /** While advancing: every participant has done its work up to here. */
  reached: unixSeconds,
  deleted: z.boolean(),
  failure: z.string().nullable(),
});
export type TestClockDocument = z.infer<typeof TestClockDocument>;

// ---- subscriptions -------------------------------------------------------------------------

/*
 * RatedLine and CreateSubscriptionInvoiceRequest are rating's RPC payloads (internal-ops.ts,
 * interfaces there). Their schemas live here until internal-ops has its own; the checks at the
 * end of this file make the compiler fail when the two drift apart.
 */
const RatedLineSchema = z.strictObject({
  subscription_item: subscriptionItemId,
  price: priceId,
  product: productId,
  meter: meterId.nullable(),
  /** Billed quantity after transform_quantity. */
  quantity: z.int().nonnegative(),
  /** Rounded once, minor units. */
  amount: z.int().nonnegative(),
  currency,
  unit_amount_decimal: decimalString.nullable(),
  description: z.string(),
  period: z.strictObject({ start: unixSeconds, end: unixSeconds }),
});

/**
 * A subscription change's invoice item: a proration of a licensed item (credit for unused time:
 * negative; charge for remaining time) or, in flexible mode, a metered price's usage so far.
 */
const SubscriptionInvoiceItemSchema = z.strictObject({
  ...RatedLineSchema.shape,
  id: invoiceItemId,
  /** Credits are negative. */
  amount: z.int(),
  proration: z.boolean(),
  /** A flexible credit: the invoice item whose charge it credits back. */
  credited_invoice_item: invoiceItemId.nullable(),
});

const InvoiceRequestSchema = z.strictObject({
  /** `<subscription>:<period_start>:<billing_reason>` */
  idempotency_key: z.string().min(1),
  customer: customerId,
  subscription: subscriptionId,
  currency,
  billing_reason: z.enum(['subscription_cycle', 'subscription_create', 'subscription_update', 'subscription_threshold', 'manual']),
  period_start: unixSeconds,
  period_end: unixSeconds,
  created: unixSeconds,
  test_clock: testClockId.nullable(),
  lines: z.array(RatedLineSchema),
  /**
   * Invoice items a subscription change makes (issue 8 items 5 and 7; SubscriptionInvoiceItem in
   * internal-ops.ts): made once by id, pending until a subscription invoice takes them.
   */
  invoice_items: z.array(SubscriptionInvoiceItemSchema).optional(),
  /** Only the invoice items (`proration_behavior=create_prorations`): no invoice is made. */
  pending_only: z.boolean().optional(),
});

export const SUBSCRIPTION_CANCELLATION_FEEDBACK = [
  'customer_service',
  'low_quality',
  'missing_features',
  'other',
  'switched_service',
  'too_complex',
  'too_expensive',
  'unused',
] as const;

export const CancellationDetailsDocument = z.strictObject({
  comment: z.string().nullable(),
  feedback: z.enum(SUBSCRIPTION_CANCELLATION_FEEDBACK).nullable(),
  feedback_option: z.string().nullable().optional(),
  reason: z.enum(['cancellation_requested', 'payment_disputed', 'payment_failed']).nullable(),
});
export type CancellationDetailsDocument = z.infer<typeof CancellationDetailsDocument>;

export const SubscriptionItemDocument = z.strictObject({
  id: subscriptionItemId,
  created: unixSeconds,
  /** The price as it was when attached (pricing terms of a price never change). */
  price: PriceDocument,
  /** Null for metered prices. */
  quantity: z.int().nonnegative().nullable(),
  metadata,
  /** Usage of this item is billed from here (an item added or repriced mid-cycle starts later). */
  current_period_start: unixSeconds,
  current_period_end: unixSeconds,
  /**
   * A licensed item's charges standing for the current period (flexible mode credits them back
   * on a change, rating's proration.ts), set by a prorated change or an addition; absent: the
   * period's regular charge.
   */
  debits: z
    .array(z.strictObject({ amount: z.int(), start: unixSeconds, end: unixSeconds, invoice_item: invoiceItemId.nullable() }))
    .optional(),
});
export type SubscriptionItemDocument = z.infer<typeof SubscriptionItemDocument>;

/** `billing_thresholds {amount_gte (minor units), reset_billing_cycle_anchor}` (stripe-api.md §4). */
export const BillingThresholdsDocument = z.strictObject({
  amount_gte: z.int().positive(),
  reset_billing_cycle_anchor: z.boolean(),
});
export type BillingThresholdsDocument = z.infer<typeof BillingThresholdsDocument>;

/** A subscription's state (the state of a subscription stream; rendered by rating's view). */
export const SubscriptionStateDocument = z.strictObject({
  id: subscriptionId,
  customer: customerId,
  currency,
  test_clock: testClockId.nullable(),
  status: z.enum(['active', 'canceled']),
  created: unixSeconds,
  start_date: unixSeconds,
  billing_cycle_anchor: unixSeconds,
  billing_cycle_anchor_config: BillingAnchorConfig.nullable(),
  billing_mode: z.strictObject({ type: z.enum(['classic', 'flexible']), updated_at: unixSeconds.nullable() }),
  recurrence: BillingRecurrence,
  /** The subscription's current period; every item ends it together. */
  period: z.strictObject({ start: unixSeconds, end: unixSeconds }),
  cancel_at: unixSeconds.nullable(),
  cancel_at_period_end: z.boolean(),
  canceled_at: unixSeconds.nullable(),
  ended_at: unixSeconds.nullable(),
  cancellation_details: CancellationDetailsDocument,
  description: z.string().nullable(),
  metadata,
  items: z.array(SubscriptionItemDocument),
  latest_invoice: invoiceId.nullable(),
  /** Invoices handed to invoicing and not yet acknowledged: retried until they are. */
  pending_invoices: z.array(InvoiceRequestSchema),
  /** Lines billed on the next invoice (flexible billing mode: usage of a removed or repriced item). */
  pending_lines: z.array(RatedLineSchema),
  /**
   * Invoice items subscription changes made (prorations, flexible usage of a removed or repriced
   * metered price) that no invoice of the subscription carried yet: the next one takes them.
   */
  pending_invoice_items: z.array(SubscriptionInvoiceItemSchema).optional(),
  /** `billing_thresholds` (issue 8 item 6); absent on subscriptions recorded before thresholds existed. */
  billing_thresholds: BillingThresholdsDocument.nullable().optional(),
  /**
   * The lines of the threshold invoices issued in the current period: later invoices of the
   * period bill each item's usage net of them (rating's billing-threshold.ts). Cleared at each period end.
   */
  threshold_lines: z.array(RatedLineSchema).optional(),
});
export type SubscriptionStateDocument = z.infer<typeof SubscriptionStateDocument>;

// ---- events: customers, products, prices ---------------------------------------------------

export const CustomerCreated = defineEvent('CustomerCreated', 1, z.strictObject({ customer: CustomerDocument }));
export const CustomerUpdated = defineEvent(
  'CustomerUpdated',
  1,
  z.strictObject({ customer: CustomerDocument, previous_attributes: previousAttributes }),
);
export const CustomerDeleted = defineEvent('CustomerDeleted', 1, z.strictObject({ id: customerId }));

export const ProductCreated = defineEvent('ProductCreated', 1, z.strictObject({ product: ProductDocument }));
export const ProductUpdated = defineEvent(
  'ProductUpdated',
  1,
  z.strictObject({ product: ProductDocument, previous_attributes: previousAttributes }),
);

export const PriceCreated = defineEvent('PriceCreated', 1, z.strictObject({ price: PriceDocument }));
export const PriceUpdated = defineEvent(
  'PriceUpdated',
  1,
  z.strictObject({ price: PriceDocument, previous_attributes: previousAttributes }),
);

// ---- events: test clocks -------------------------------------------------------------------

export const TestClockCreated = defineEvent('TestClockCreated', 1, z.strictObject({ clock: TestClockDocument }));
export const TestClockAdvanceStarted = defineEvent('TestClockAdvanceStarted', 1, z.strictObject({ target: unixSeconds }));
export const TestClockStepCompleted = defineEvent('TestClockStepCompleted', 1, z.strictObject({ to: unixSeconds }));
export const TestClockReady = defineEvent('TestClockReady', 1, z.strictObject({ frozen_time: unixSeconds }));
export const TestClockAdvanceFailed = defineEvent('TestClockAdvanceFailed', 1, z.strictObject({ at: unixSeconds, reason: z.string() }));
export const TestClockDeleted = defineEvent('TestClockDeleted', 1, z.strictObject({}));

// ---- events: subscriptions -----------------------------------------------------------------

export const SubscriptionCreated = defineEvent('SubscriptionCreated', 1, z.strictObject({ subscription: SubscriptionStateDocument }));
export const SubscriptionUpdated = defineEvent(
  'SubscriptionUpdated',
  1,
  z.strictObject({
    changes: SubscriptionStateDocument.pick({
      metadata: true,
      description: true,
      cancel_at: true,
      cancel_at_period_end: true,
      canceled_at: true,
      cancellation_details: true,
      billing_thresholds: true,
    }).partial(),
  }),
);
export const SubscriptionItemAdded = defineEvent(
  'SubscriptionItemAdded',
  1,
  z.strictObject({
    item: SubscriptionItemDocument,
    pending_lines: z.array(RatedLineSchema).optional(),
    /** Invoice items the change made (issue 8 items 5 and 7). */
    invoice_items: z.array(SubscriptionInvoiceItemSchema).optional(),
    /** Their hand-over: pending only (`create_prorations`) or an invoice now (`always_invoice`). */
    invoice: InvoiceRequestSchema.nullable().optional(),
  }),
);
export const SubscriptionItemUpdated = defineEvent(
  'SubscriptionItemUpdated',
  1,
  z.strictObject({
    item: SubscriptionItemDocument,
    pending_lines: z.array(RatedLineSchema),
    /** Invoice items the change made (issue 8 items 5 and 7). */
    invoice_items: z.array(SubscriptionInvoiceItemSchema).optional(),
    /** Their hand-over: pending only (`create_prorations`) or an invoice now (`always_invoice`). */
    invoice: InvoiceRequestSchema.nullable().optional(),
  }),
);
export const SubscriptionItemDeleted = defineEvent(
  'SubscriptionItemDeleted',
  1,
  z.strictObject({
    item: subscriptionItemId,
    pending_lines: z.array(RatedLineSchema),
    /** Invoice items the change made (issue 8 items 5 and 7). */
    invoice_items: z.array(SubscriptionInvoiceItemSchema).optional(),
    /** Their hand-over: pending only (`create_prorations`) or an invoice now (`always_invoice`). */
    invoice: InvoiceRequestSchema.nullable().optional(),
  }),
);
export const SubscriptionBillingModeMigrated = defineEvent(
  'SubscriptionBillingModeMigrated',
  1,
  z.strictObject({ updated_at: unixSeconds }),
);
/** `billing_cycle_anchor=now`: the period ends now (invoiced like a period end) and a new cycle starts. */
export const SubscriptionBillingCycleAnchorReset = defineEvent(
  'SubscriptionBillingCycleAnchorReset',
  1,
  z.strictObject({ anchor: unixSeconds, period_end: unixSeconds, invoice: InvoiceRequestSchema }),
);
export const SubscriptionPeriodClosed = defineEvent(
  'SubscriptionPeriodClosed',
  1,
  z.strictObject({
    period_start: unixSeconds,
    period_end: unixSeconds,
    next_period_end: unixSeconds,
    invoice: InvoiceRequestSchema,
    /** Set when invoicing accepted the invoice before the close was recorded. */
    invoice_id: invoiceId.optional(),
  }),
);
export const SubscriptionCanceled = defineEvent(
  'SubscriptionCanceled',
  1,
  z.strictObject({
    canceled_at: unixSeconds,
    ended_at: unixSeconds,
    cancellation_details: CancellationDetailsDocument,
    invoice: InvoiceRequestSchema.nullable(),
    invoice_id: invoiceId.optional(),
  }),
);
/**
 * The amount accrued in the period reached `billing_thresholds.amount_gte` (issue 8 item 6): a
 * `subscription_threshold` invoice bills the usage so far (`lines`, net of earlier threshold
 * invoices of the period). With `reset` the period ends there and a new cycle starts (the
 * anchor moves to `at`).
 */
export const SubscriptionThresholdInvoiced = defineEvent(
  'SubscriptionThresholdInvoiced',
  1,
  z.strictObject({
    at: unixSeconds,
    invoice: InvoiceRequestSchema,
    /** Set when invoicing accepted the invoice before this was recorded. */
    invoice_id: invoiceId.optional(),
    reset: z.strictObject({ anchor: unixSeconds, period_end: unixSeconds }).nullable(),
  }),
);
export const SubscriptionInvoiceAcknowledged = defineEvent(
  'SubscriptionInvoiceAcknowledged',
  1,
  z.strictObject({
    idempotency_key: z.string().min(1),
    /** The invoice made; for a request that only made invoice items (`pending_only`), its first item. */
    invoice: z.union([invoiceId, invoiceItemId]),
  }),
);

/** Every event rating's store accepts (plus StripeEventEmitted and StripeEventAnnounced). */
export const RATING_EVENTS = eventCatalog([
  CustomerCreated,
  CustomerUpdated,
  CustomerDeleted,
  ProductCreated,
  ProductUpdated,
  PriceCreated,
  PriceUpdated,
  TestClockCreated,
  TestClockAdvanceStarted,
  TestClockStepCompleted,
  TestClockReady,
  TestClockAdvanceFailed,
  TestClockDeleted,
  SubscriptionCreated,
  SubscriptionUpdated,
  SubscriptionItemAdded,
  SubscriptionItemUpdated,
  SubscriptionItemDeleted,
  SubscriptionBillingModeMigrated,
  SubscriptionBillingCycleAnchorReset,
  SubscriptionPeriodClosed,
  SubscriptionCanceled,
  SubscriptionInvoiceAcknowledged,
  SubscriptionThresholdInvoiced,
]);

// ---- drift checks against internal-ops.ts (compile-time only) ------------------------------

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const ratedLineMatches: Same<z.infer<typeof RatedLineSchema>, RatedLine> = true;
const invoiceRequestMatches: Same<z.infer<typeof InvoiceRequestSchema>, CreateSubscriptionInvoiceRequest> = true;
void ratedLineMatches;
void invoiceRequestMatches;
