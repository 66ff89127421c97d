/**
 * Commands and queries services send each other (request/reply, `mf.rpc.<service>.<op>`).
 * Public API ops take `ApiRequest`; these internal ops take the payloads below. Amounts are
 * integer minor units as JSON numbers (safe up to 2^53), decimals are strings, times unix seconds.
 */

// ---- meter-ingestion ----------------------------------------------------------------------
/** `usage.query`: aggregated usage of (meter, customer) over [start, end), per the meter's formula. */
export interface UsageQueryRequest {
  queries: { key: string; meter: string; customer: string; start: number; end: number }[];
}
export interface UsageQueryReply {
  /** By query key: the aggregated value as a decimal string ("0" when no usage). */
  results: Record<string, { value: string; formula: 'sum' | 'count' | 'last' }>;
}
export const INGESTION_OPS = { usageQuery: 'usage.query' } as const;

// ---- rating ------------------------------------------------------------------------------
/** A priced line for one subscription item over one period, as rating computes it. */
export interface RatedLine {
  subscription_item: string;
  price: string;
  product: string;
  meter: string | null;
  /** Billed quantity after transform_quantity (integer). */
  quantity: number;
  /** Line amount, rounded once, minor units. */
  amount: number;
  currency: string;
  /** Per-unit price as a decimal string (per_unit prices); null for tiered prices. */
  unit_amount_decimal: string | null;
  description: string;
  period: { start: number; end: number };
}

/** `billing.rate_period`: re-rate a subscription's metered items for a period (used when finalizing). */
export interface RatePeriodRequest {
  subscription: string;
  period_start: number;
  period_end: number;
  /**
   * The invoice's `billing_reason`: a creation invoice and the first cycle invoice can cover the
   * same period, and only this picks the right one. Absent: the latest close for the period.
   */
  billing_reason?: CreateSubscriptionInvoiceRequest['billing_reason'];
}
export interface RatePeriodReply {
  lines: RatedLine[];
}
export const RATING_OPS = { ratePeriod: 'billing.rate_period' } as const;

// ---- invoicing ---------------------------------------------------------------------------
/**
 * `subscription_invoices.create`: rating hands over a closed period. Idempotent by
 * `idempotency_key` (`<subscription>:<period_start>:<billing_reason>`): a repeat returns the
 * invoice already made. Creates a draft that finalizes automatically after the grace period.
 */
export interface CreateSubscriptionInvoiceRequest {
  idempotency_key: string;
  customer: string;
  subscription: string;
  currency: string;
  billing_reason: 'subscription_cycle' | 'subscription_create' | 'subscription_update' | 'subscription_threshold' | 'manual';
  period_start: number;
  period_end: number;
  /** Creation time: the clock's time for customers on a test clock. */
  created: number;
  test_clock: string | null;
  lines: RatedLine[];
}
export const INVOICING_OPS = { createSubscriptionInvoice: 'subscription_invoices.create' } as const;

// ---- credit-ledger -----------------------------------------------------------------------
/**
 * `credits.apply`: invoicing asks, while finalizing, how much credit pays each line.
 * Idempotent by invoice: a repeat returns the same applications.
 */
export interface ApplyCreditsRequest {
  invoice: string;
  customer: string;
  currency: string;
  /** Finalization time (clock time for test-clock customers). */
  at: number;
  test_clock: string | null;
  lines: { id: string; amount: number; price: string | null; metered: boolean }[];
}
export interface ApplyCreditsReply {
  applications: { line: string; amount: number; credit_balance_transaction: string; credit_grant: string }[];
}
export const CREDIT_LEDGER_OPS = { applyCredits: 'credits.apply' } as const;
