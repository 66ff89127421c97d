import { z } from 'zod';
import { Currency, MinorUnits, RatedLine, SubscriptionInvoiceItem, UnixSeconds } from './internal-ops.js';

/*
 * Invoice preview (`POST /v1/invoices/create_preview`, issue 8 item 8): invoicing owns the route
 * and renders the invoice; rating says what the subscription would bill, the credit ledger which
 * credits would pay it. Nothing is written anywhere. Same conventions as internal-ops.ts.
 */
const Id = z.string().min(1);

/** `billing.preview_invoice`: the subscription invoice that would be issued next, or with a change not yet made. */
export const PreviewSubscriptionInvoiceRequest = z.object({
  customer: Id.optional(),
  subscription: Id.optional(),
  /**
   * The client's `subscription_details` as form-decoded params (rating reads and validates them,
   * naming `subscription_details[...]` in its errors).
   */
  subscription_details: z.record(z.string(), z.unknown()).optional(),
});
export type PreviewSubscriptionInvoiceRequest = z.infer<typeof PreviewSubscriptionInvoiceRequest>;

export const PreviewSubscriptionInvoiceReply = z.object({
  customer: Id,
  test_clock: Id.nullable(),
  /** The customer's "now" the preview was computed at (its clock's time, else the system's). */
  at: UnixSeconds,
  /** null: no subscription to preview (the customer has none active); pending invoice items may still make an invoice. */
  invoice: z
    .object({
      subscription: Id,
      currency: Currency,
      /** `upcoming` for the next period-end invoice; `subscription_update` when the change would invoice at once. */
      billing_reason: z.enum(['upcoming', 'subscription_update']),
      period_start: UnixSeconds,
      period_end: UnixSeconds,
      lines: z.array(RatedLine),
      /**
       * Invoice items the invoice would carry that invoicing may not have yet: those a previewed
       * change would make (and, for a change invoicing at once, the subscription's pending ones).
       * Invoicing renders them as invoice-item lines, once each beside its own pending items.
       */
      invoice_items: z.array(SubscriptionInvoiceItem).default([]),
    })
    .nullable(),
});
export type PreviewSubscriptionInvoiceReply = z.infer<typeof PreviewSubscriptionInvoiceReply>;

/** `credits.preview`: which credits would pay these lines at `at`, as `credits.apply` would decide, writing nothing. */
export const PreviewCreditsRequest = z.object({
  customer: Id,
  currency: Currency,
  at: UnixSeconds,
  lines: z.array(z.object({ id: Id, amount: MinorUnits, price: Id.nullable(), metered: z.boolean() })),
});
export type PreviewCreditsRequest = z.infer<typeof PreviewCreditsRequest>;
export const PreviewCreditsReply = z.object({
  applications: z.array(z.object({ line: Id, amount: MinorUnits.nonnegative(), credit_grant: Id })),
});
export type PreviewCreditsReply = z.infer<typeof PreviewCreditsReply>;

export const PREVIEW_OPS = { previewInvoice: 'billing.preview_invoice', previewCredits: 'credits.preview' } as const;
