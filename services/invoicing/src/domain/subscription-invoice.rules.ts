import type { BillingReason } from '@meterflow/contracts';

/*
 * When a draft rating handed over is finalized, and whether its lines are rated again then.
 *
 * A `subscription_create` invoice is finalized at creation (issue 8 item 1: "finalized at once,
 * paid (nothing due), and set as the subscription's latest_invoice"; seed 001 / reference §4:
 * a flexible backdated subscription's first invoice carries the backdated usage, with its
 * credits applied then). Its lines are the ones rating computed at creation and are not rated
 * again: a classic creation invoice's metered lines are 0-amount placeholders for the first
 * period, whose usage the first cycle invoice bills.
 *
 * Every other subscription invoice waits the finalization grace period (reference §4 "Invoice
 * timing": usage reported during the grace period counts) and is re-rated when it finalizes,
 * except a `subscription_threshold` invoice: it bills the usage known when the threshold was
 * reached, and the period-end invoice bills the rest, net of exactly what it billed (issue 8
 * item 6, rating's billing-threshold.ts). Usage that arrives later for the time before the
 * threshold lands on the period-end invoice, so nothing is billed twice or lost.
 */
export function automaticFinalizationAt(reason: BillingReason, created: number, graceSeconds: number, itemsOnly = false): number {
  return reason === 'subscription_create' || itemsOnly ? created : created + graceSeconds;
}

/**
 * An invoice a subscription change makes of its invoice items alone: `proration_behavior=always_invoice`
 * ("invoice immediately", reference §4 Proration), or `invoice_now` with nothing metered to bill.
 * No usage can still arrive for it and nothing on it is re-rated: it is finalized at once, like
 * the creation invoice (our choice; Stripe attempts payment at once). Issue 8 items 5 and 7.
 */
export const ofChangeItemsOnly = (req: { lines: readonly unknown[]; invoice_items?: readonly unknown[] | undefined }): boolean =>
  req.lines.length === 0 && (req.invoice_items?.length ?? 0) > 0;

/** Whether finalizing asks rating for the lines again (only drafts rating handed over, before credits). */
export function reRatedAtFinalization(inv: {
  subscription: string | null;
  idempotency_key: string | null;
  credits_applied: boolean;
  billing_reason: BillingReason;
  lines?: readonly { type: string }[];
}): boolean {
  return (
    !!inv.subscription &&
    inv.idempotency_key !== null &&
    !inv.credits_applied &&
    inv.billing_reason !== 'subscription_create' &&
    inv.billing_reason !== 'subscription_threshold' &&
    // only rated subscription lines are rated again; invoice items (prorations) keep their amounts
    (inv.lines === undefined || inv.lines.some((l) => l.type === 'subscription_item_details'))
  );
}

/** Finalized in the same request that made it (the draft is also due at once, should that fail). */
export const finalizedAtCreation = (reason: BillingReason, itemsOnly = false): boolean => reason === 'subscription_create' || itemsOnly;
