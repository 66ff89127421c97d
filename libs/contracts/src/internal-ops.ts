import { z } from 'zod';
import { rpcReply } from './rpc.js';

/**
 * Commands and queries services send each other (request/reply, `mf.rpc.<service>.<op>`).
 * Public API ops take `ApiRequest`; these internal ops take the payloads below. Each payload is
 * a zod schema with its TypeScript type inferred from it (same name, never written twice); the
 * receiving controller parses the request with it (`@Payload(contract(Schema))` from
 * `@meterflow/service-kit`), so a malformed request is answered with a 400 and never reaches
 * the application. Amounts are integer minor units as JSON numbers (safe up to 2^53), decimals
 * are strings, times unix seconds.
 */

// ---- wire primitives ---------------------------------------------------------------------
// zod 4's `.int()` accepts safe integers only (|n| <= 2^53 - 1), and no number is NaN or infinite.
/** Unix seconds (an integer, not milliseconds). */
export const UnixSeconds = z.number().int().nonnegative();
/** Integer minor units (cents), a safe integer; sign allowed (proration credits are negative). */
export const MinorUnits = z.number().int();
/** A decimal number as a string, plain notation (`"12"`, `"0.0025"`, `"-1.5"`), no exponent. */
export const DECIMAL_STRING_RE = /^-?\d+(\.\d+)?$/;
export const DecimalString = z.string().regex(DECIMAL_STRING_RE, 'Expected a decimal string such as "12.5"');
/** ISO 4217 currency, lowercase as Stripe prints it. */
export const Currency = z.string().regex(/^[a-z]{3}$/, 'Expected a lowercase three-letter currency code');
const Id = z.string().min(1);

// ---- meter-ingestion ----------------------------------------------------------------------
/** `usage.query`: aggregated usage of (meter, customer) over [start, end), per the meter's formula. */
export const UsageQueryRequest = z.object({
  queries: z.array(z.object({ key: z.string(), meter: Id, customer: Id, start: UnixSeconds, end: UnixSeconds })),
});
export type UsageQueryRequest = z.infer<typeof UsageQueryRequest>;

export const MeterFormula = z.enum(['sum', 'count', 'last']);
export const UsageQueryReply = z.object({
  /** By query key: the aggregated value as a decimal string ("0" when no usage). */
  results: z.record(
    z.string(),
    z.object({
      value: DecimalString,
      formula: MeterFormula,
      /** How many events the window holds (cancelled ones left out); for explanations. */
      events: z.number().int().nonnegative().optional(),
    }),
  ),
});
export type UsageQueryReply = z.infer<typeof UsageQueryReply>;
export const INGESTION_OPS = { usageQuery: 'usage.query' } as const;

// ---- rating ------------------------------------------------------------------------------
/** A priced line for one subscription item over one period, as rating computes it. */
export const RatedLine = z.object({
  subscription_item: Id,
  price: Id,
  product: Id,
  meter: Id.nullable(),
  /** The line's quantity: usage (or the item's quantity) before transform_quantity (integer); the amount is rated on the transformed one. */
  quantity: z.number().int(),
  /** Line amount, rounded once, minor units. */
  amount: MinorUnits,
  currency: Currency,
  /** Per-unit price as a decimal string (per_unit prices); null for tiered prices. */
  unit_amount_decimal: DecimalString.nullable(),
  description: z.string(),
  period: z.object({ start: UnixSeconds, end: UnixSeconds }),
});
export type RatedLine = z.infer<typeof RatedLine>;

/**
 * An invoice item a subscription change makes (issue 8 items 5 and 7): a proration of a licensed
 * item (credit for unused time, charge for remaining time) or, in flexible mode, the usage of a
 * metered price removed mid-cycle. Its id (`ii_`) is chosen by rating, so repeating the hand-over
 * makes it once.
 */
export const SubscriptionInvoiceItem = RatedLine.extend({
  id: Id,
  proration: z.boolean(),
  /** A flexible credit: the invoice item whose charge it credits back (Stripe's `proration_details.credited_items`). */
  credited_invoice_item: Id.nullable(),
});
export type SubscriptionInvoiceItem = z.infer<typeof SubscriptionInvoiceItem>;

/** An invoice's `billing_reason` as rating and invoicing exchange it. */
export const SubscriptionBillingReason = z.enum([
  'subscription_cycle',
  'subscription_create',
  'subscription_update',
  'subscription_threshold',
  'manual',
]);

/** `billing.rate_period`: re-rate a subscription's metered items for a period (used when finalizing). */
export const RatePeriodRequest = z.object({
  subscription: Id,
  period_start: UnixSeconds,
  period_end: UnixSeconds,
  /**
   * The invoice's `billing_reason`: a creation invoice and the first cycle invoice can cover the
   * same period, and only this picks the right one. Absent: the latest close for the period.
   */
  billing_reason: SubscriptionBillingReason.optional(),
});
export type RatePeriodRequest = z.infer<typeof RatePeriodRequest>;
export const RatePeriodReply = z.object({ lines: z.array(RatedLine) });
export type RatePeriodReply = z.infer<typeof RatePeriodReply>;
/**
 * `billing.rate_periods`: many `billing.rate_period` requests in one (invoicing finalizing a batch
 * of drafts). One reply per request, same order, each exactly what the single op answers
 * (`{ok:false,error}` for an unknown subscription or a period never closed).
 */
export const RatePeriodsRequest = z.object({ requests: z.array(RatePeriodRequest).min(1).max(500) });
export type RatePeriodsRequest = z.infer<typeof RatePeriodsRequest>;
export const RatePeriodsReply = z.object({ results: z.array(rpcReply(RatePeriodReply)) });
export type RatePeriodsReply = z.infer<typeof RatePeriodsReply>;
export const RATING_OPS = { ratePeriod: 'billing.rate_period', ratePeriods: 'billing.rate_periods' } as const;

// ---- invoicing ---------------------------------------------------------------------------
/**
 * `subscription_invoices.create`: rating hands over a closed period. Idempotent by
 * `idempotency_key` (`<subscription>:<period_start>:<billing_reason>`): a repeat returns the
 * invoice already made. Creates a draft that finalizes automatically after the grace period.
 */
export const CreateSubscriptionInvoiceRequest = z.object({
  idempotency_key: z.string().min(1),
  customer: Id,
  subscription: Id,
  currency: Currency,
  billing_reason: SubscriptionBillingReason,
  period_start: UnixSeconds,
  period_end: UnixSeconds,
  /** Creation time: the clock's time for customers on a test clock. */
  created: UnixSeconds,
  test_clock: Id.nullable(),
  lines: z.array(RatedLine),
  /**
   * Invoice items a subscription change makes (prorations, a flexible metered item's usage so far),
   * created before the invoice, pending until a subscription invoice takes them (this one, unless
   * `pending_only`). Idempotent by item id.
   */
  invoice_items: z.array(SubscriptionInvoiceItem).optional(),
  /** Only the invoice items: no invoice is made (`proration_behavior=create_prorations`); the reply's id is the first item's. */
  pending_only: z.boolean().optional(),
});
export type CreateSubscriptionInvoiceRequest = z.infer<typeof CreateSubscriptionInvoiceRequest>;
/**
 * `subscription_invoices.create_many`: 1..500 hand-overs in one call, each with exactly the
 * semantics of `subscription_invoices.create` (a repeated key, within the batch or from an earlier
 * call, answers the invoice already made). `results[i]` answers `requests[i]`: the invoice id, or
 * that item's error, so one bad item never fails the others.
 */
export const CreateSubscriptionInvoicesRequest = z.object({ requests: z.array(CreateSubscriptionInvoiceRequest).min(1).max(500) });
export type CreateSubscriptionInvoicesRequest = z.infer<typeof CreateSubscriptionInvoicesRequest>;
/**
 * What invoicing parses a `create_many` request with: the envelope only. Each item is then parsed
 * on its own with `CreateSubscriptionInvoiceRequest`, so a malformed item is answered with its
 * own 400 and the rest of the batch goes through.
 */
export const CreateSubscriptionInvoicesEnvelope = z.object({ requests: z.array(z.unknown()).min(1).max(500) });
export type CreateSubscriptionInvoicesEnvelope = z.infer<typeof CreateSubscriptionInvoicesEnvelope>;
export const CreateSubscriptionInvoicesReply = z.object({ results: z.array(rpcReply(z.object({ id: Id }))) });
export type CreateSubscriptionInvoicesReply = z.infer<typeof CreateSubscriptionInvoicesReply>;
/**
 * `clock.advance_partition`: invoicing to itself (its queue group, so any replica may take it).
 * Its `clock.advance_to` with `INVOICE_CLOSE_PARTITIONS` > 1 splits the clock's due drafts by
 * customer into `partitions` parts (a hash of the customer id) and asks for each part at once:
 * the replicas finalize disjoint customers side by side. A part answers like `clock.advance_to`
 * (`done: false` after the budget, or while another call is finalizing that part).
 */
export const ClockAdvancePartitionRequest = z.object({
  clock: Id,
  to: UnixSeconds,
  partition: z.number().int().nonnegative(),
  partitions: z.number().int().min(1).max(64),
});
export type ClockAdvancePartitionRequest = z.infer<typeof ClockAdvancePartitionRequest>;
export const ClockAdvancePartitionReply = z.object({ done: z.boolean(), finalized: z.number().int().nonnegative() });
export type ClockAdvancePartitionReply = z.infer<typeof ClockAdvancePartitionReply>;
export const INVOICING_OPS = {
  createSubscriptionInvoice: 'subscription_invoices.create',
  createSubscriptionInvoices: 'subscription_invoices.create_many',
  advancePartition: 'clock.advance_partition',
} as const;

// ---- credit-ledger -----------------------------------------------------------------------
/**
 * `credits.apply`: invoicing asks, while finalizing, how much credit pays each line.
 * Idempotent by invoice: a repeat returns the same applications.
 */
export const ApplyCreditsRequest = z.object({
  invoice: Id,
  customer: Id,
  currency: Currency,
  /** Finalization time (clock time for test-clock customers). */
  at: UnixSeconds,
  test_clock: Id.nullable(),
  lines: z.array(z.object({ id: Id, amount: MinorUnits, price: Id.nullable(), metered: z.boolean() })),
});
export type ApplyCreditsRequest = z.infer<typeof ApplyCreditsRequest>;
export const ApplyCreditsReply = z.object({
  applications: z.array(z.object({ line: Id, amount: MinorUnits.nonnegative(), credit_balance_transaction: Id, credit_grant: Id })),
});
export type ApplyCreditsReply = z.infer<typeof ApplyCreditsReply>;
/**
 * `credits.apply_many`: 1..500 `credits.apply` requests in one call (invoicing finalizing a batch
 * of drafts). `results[i]` answers `requests[i]` with exactly what `credits.apply` would have
 * answered had the requests been sent one by one in that order (several invoices of one customer
 * draw on its grants in request order; a repeated invoice, within the batch or from an earlier
 * call, gets the stored answer), or with that item's own error.
 */
export const ApplyCreditsManyRequest = z.object({ requests: z.array(ApplyCreditsRequest).min(1).max(500) });
export type ApplyCreditsManyRequest = z.infer<typeof ApplyCreditsManyRequest>;
/**
 * What the ledger parses a `credits.apply_many` request with: the envelope only. Each item is then
 * parsed on its own with `ApplyCreditsRequest`, so a malformed item gets its own 400.
 */
export const ApplyCreditsManyEnvelope = z.object({ requests: z.array(z.unknown()).min(1).max(500) });
export type ApplyCreditsManyEnvelope = z.infer<typeof ApplyCreditsManyEnvelope>;
export const ApplyCreditsManyReply = z.object({ results: z.array(rpcReply(ApplyCreditsReply)) });
export type ApplyCreditsManyReply = z.infer<typeof ApplyCreditsManyReply>;
export const CREDIT_LEDGER_OPS = { applyCredits: 'credits.apply', applyCreditsMany: 'credits.apply_many' } as const;
