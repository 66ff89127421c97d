import type { CreateSubscriptionInvoiceRequest } from '@meterflow/contracts';
import { finalizedAtCreation, ofChangeItemsOnly } from '../domain/subscription-invoice.rules.js';
import type { Finalization } from './finalization.js';
import type { SubscriptionInvoiceOutcome } from './subscription-invoices.js';

/**
 * Finalize the `subscription_create` drafts a hand-over has just made (one answer per request,
 * in order). A failure leaves the draft due at once: the scheduler or the clock's next advance
 * finalizes it.
 */
export async function finalizeCreationInvoices(
  finalization: Finalization,
  reqs: readonly CreateSubscriptionInvoiceRequest[],
  outcomes: readonly SubscriptionInvoiceOutcome[],
): Promise<void> {
  const due = reqs.flatMap((r, i) => {
    const o = outcomes[i];
    return o?.ok && o.invoice?.status === 'draft' && finalizedAtCreation(r.billing_reason, ofChangeItemsOnly(r))
      ? [{ id: o.id, at: r.created }]
      : [];
  });
  if (due.length > 0) await finalization.finalizeMany(due, { onError: () => undefined });
}
