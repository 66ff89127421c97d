import type { CreateSubscriptionInvoiceRequest, RatedLine, SubscriptionInvoiceItem } from '@meterflow/contracts';
import { DomainError, invalid } from '@meterflow/kernel';
import { periodContaining } from './billing-period.js';
import { isMetered, pricingTerms } from './price.js';
import { debitsAfter, prorate, prorateChange, remainingShare, prorationDescription, type Debit, type Period } from './proration.js';
import { rateExact } from './rating.math.js';
import type { SubscriptionItemState, SubscriptionState, ProrationBehavior } from './subscription.types.js';

/*
 * The invoice items a subscription change makes (issue 8 items 5 and 7; reference §4
 * "billing_mode", "Proration / item removal", "Cancellation"):
 * - flexible mode, a metered price changed or removed mid-cycle: one invoice item bills the old
 *   price's usage over [item period start, change) (seed 001 "an invoice item is created");
 * - a licensed item's quantity or price changed, removed, or the subscription canceled with
 *   `prorate=true`: a credit for the unused time of the item as it was (classic: recomputed from
 *   the current price; flexible: each standing debit credited back) and a charge for the
 *   remaining time of the item as it is (domain/proration.ts).
 * `proration_behavior=none` makes none; `create_prorations` leaves them pending for the next
 * invoice; `always_invoice` invoices the subscription's pending items at once
 * (`billing_reason=subscription_update`). Ids are chosen by the caller (`invoice_item_ids`), so
 * the decision stays pure and a repeated hand-over makes each item once.
 */

/** Ids for the items a change may make, taken in order. */
export class ItemIds {
  private next = 0;
  constructor(private readonly ids: readonly string[]) {}
  take(): string {
    const id = this.ids[this.next++];
    if (!id) throw new DomainError('internal_failure', 'not enough invoice item ids for the change', { status: 500, type: 'api_error' });
    return id;
  }
}

/** The full billing period containing `at` (boundary to boundary): what prorations are shares of. */
export function fullPeriodAt(s: SubscriptionState, at: number): Period {
  const full = periodContaining(s.billing_cycle_anchor, s.recurrence, s.period.end - 1);
  return { start: Math.min(full.start, at), end: s.period.end };
}

/** `proration_date`: within the current period (Stripe refuses one outside it). */
export function prorationAt(s: SubscriptionState, now: number, date: number | undefined): number {
  if (date === undefined) return now;
  if (date < s.period.start || date > s.period.end)
    throw invalid('proration_date', 'proration_date must be within the current period of the subscription.');
  return date;
}

/** A licensed item's exact full-period amount at its price and quantity. */
const fullAmount = (it: Pick<SubscriptionItemState, 'price' | 'quantity'>) =>
  rateExact(pricingTerms(it.price), String(it.quantity ?? 1)).amount;

/**
 * The charges standing for the item's current period: the recorded ones, else the period's
 * regular charge (the cycle or creation line: full amount x the share of the period it covers).
 */
export function standingDebits(s: SubscriptionState, it: SubscriptionItemState): Debit[] {
  if (it.debits) return it.debits.map((d) => ({ ...d, amount: BigInt(d.amount) }));
  const amount = prorate(fullAmount(it), remainingShare(fullPeriodAt(s, s.period.start), s.period.start));
  return amount === 0n ? [] : [{ amount, start: s.period.start, end: s.period.end, invoice_item: null }];
}

const storedDebits = (ds: readonly Debit[]) => ds.map((d) => ({ ...d, amount: Number(d.amount) }));

export interface LicensedProration {
  items: SubscriptionInvoiceItem[];
  /** The item's debits after the change (null: removed). */
  debits: SubscriptionItemState['debits'];
}

/**
 * The prorations of one licensed item's change at `at`: `before` as it was (null: it was not
 * licensed), `after` as it is (null: removed, canceled, or now metered).
 */
export function licensedProrations(
  s: SubscriptionState,
  before: SubscriptionItemState | null,
  after: SubscriptionItemState | null,
  at: number,
  ids: ItemIds,
  names: Record<string, string>,
): LicensedProration {
  const period = fullPeriodAt(s, at);
  const was = before && !isMetered(before.price) ? before : null;
  const is = after && !isMetered(after.price) ? after : null;
  const debits = was ? standingDebits(s, was) : [];
  const prorations = prorateChange({
    mode: s.billing_mode.type,
    period,
    at,
    before: was ? { full: fullAmount(was), debits } : null,
    after: is ? { full: fullAmount(is) } : null,
  });
  const items = prorations.map((p): SubscriptionInvoiceItem => {
    const it = p.kind === 'credit' ? was! : is!;
    const quantity = it.quantity ?? 1;
    return {
      id: ids.take(),
      subscription_item: it.id,
      price: it.price.id,
      product: it.price.product,
      meter: null,
      quantity,
      amount: Number(p.amount),
      currency: it.price.currency,
      unit_amount_decimal: it.price.billing_scheme === 'per_unit' ? it.price.unit_amount_decimal : null,
      description: prorationDescription(p.kind, quantity, names[it.price.product] ?? it.price.product, at),
      period: p.period,
      proration: true,
      credited_invoice_item: p.credited_invoice_item,
    };
  });
  const charge = items.find((i) => i.amount > 0 && i.subscription_item === is?.id);
  const after_ = debitsAfter(debits, prorations, charge?.id ?? null, true);
  return { items, debits: is ? storedDebits(after_) : undefined };
}

/** flexible: the old metered price's usage so far, as invoice items (seed 001, reference §4). */
export function usageInvoiceItems(lines: readonly RatedLine[], ids: ItemIds): SubscriptionInvoiceItem[] {
  return lines
    .filter((l) => l.amount !== 0 || l.quantity !== 0)
    .map((l) => ({ ...l, id: ids.take(), proration: false, credited_invoice_item: null }));
}

/**
 * How a change's items are handed over: `always_invoice` invoices every pending item of the
 * subscription at once (`subscription_update`); otherwise the new items are made pending
 * (`pending_only`), and the next invoice of the subscription takes them.
 */
export function changeHandOver(
  s: SubscriptionState,
  behavior: ProrationBehavior,
  now: number,
  items: readonly SubscriptionInvoiceItem[],
): CreateSubscriptionInvoiceRequest | null {
  if (items.length === 0) return null;
  const always = behavior === 'always_invoice';
  const carried = always ? [...(s.pending_invoice_items ?? []), ...items] : [...items];
  return {
    // A change's items are told apart by their first item's id (several changes a second).
    idempotency_key: `${s.id}:${now}:subscription_update:${items[0]!.id}`,
    customer: s.customer,
    subscription: s.id,
    currency: s.currency,
    billing_reason: 'subscription_update',
    period_start: s.period.start,
    period_end: now,
    created: now,
    test_clock: s.test_clock,
    lines: [],
    invoice_items: carried,
    ...(always ? {} : { pending_only: true }),
  };
}

/**
 * A change's rated usage must be of the windows the subscription has now: a period close that
 * committed between the caller's read and this decision moved them (its usage is billed by the
 * close). The caller reads again and re-rates (a retryable 409).
 */
export function refuseStaleUsage(lines: readonly RatedLine[], s: SubscriptionState, now: number): void {
  const stale = lines.some(
    (l) =>
      !s.items.some(
        (it) => it.id === l.subscription_item && it.price.id === l.price && Math.min(it.current_period_start, now) === l.period.start,
      ),
  );
  if (stale)
    throw new DomainError('subscription_usage_stale', 'The subscription changed while its usage was being rated; retry the request.', {
      status: 409,
    });
}
