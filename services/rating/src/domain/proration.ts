import { Dec, roundMinor } from '@meterflow/kernel';

/*
 * Prorations of licensed items, as Stripe computes them (reference §4 "billing_mode",
 * "Proration / item removal", "Cancellation"; issue 8 item 7).
 *
 * - Time is prorated to the second over the full billing period [start, end) that contains the
 *   change: the remaining share is (end - at) / (end - start). `proration_date` fixes `at`.
 * - A change credits the unused time of the item as it was and charges the remaining time of the
 *   item as it is now, as two proration invoice items over [at, end).
 * - classic "recomputes from current price/qty": the credit is the item's full-period amount at
 *   its current price and quantity times the remaining share, whatever was actually charged.
 * - flexible "credits back the amount originally debited (may emit several credit lines)": each
 *   charge still standing for the period (a debit) is credited for the part of its own span after
 *   `at`; nothing debited, nothing credited.
 * - Money: every line is rounded once, half up, to integer minor units (DESIGN "Money"); a credit
 *   is the negated rounding of the positive amount, so crediting a whole debit gives it back exactly.
 */

export type ProrationMode = 'classic' | 'flexible';

export interface Period {
  start: number;
  end: number;
}

/** A charge standing for [start, end) of an item's current period: what flexible mode credits back. */
export interface Debit extends Period {
  /** The amount charged, minor units. */
  amount: bigint;
  /** The invoice item that charged it (a proration), or null (an invoice line: creation, cycle). */
  invoice_item: string | null;
}

/** One proration invoice item: a credit (negative) or a charge, over [at, end). */
export interface Proration {
  kind: 'credit' | 'charge';
  amount: bigint;
  period: Period;
  /** flexible credits: the invoice item whose debit this credits back, if it was one. */
  credited_invoice_item: string | null;
}

/** The share of `period` left at `at`, in [0, 1] (to the second). */
export function remainingShare(period: Period, at: number): Dec {
  const length = period.end - period.start;
  if (length <= 0 || at >= period.end) return new Dec(0);
  if (at <= period.start) return new Dec(1);
  return new Dec(period.end - at).div(length);
}

/** `amount` x `share`, rounded once, half up (away from zero for negatives). */
export function prorate(amount: Dec | bigint, share: Dec): bigint {
  const exact = typeof amount === 'bigint' ? new Dec(amount.toString()) : amount;
  return roundMinor(exact.mul(share));
}

/** classic: the unused time of the item at its current price and quantity (`full` = full-period amount). */
export function classicCredit(full: Dec, period: Period, at: number): bigint {
  return -prorate(full, remainingShare(period, at));
}

/** flexible: each standing debit credited back for the part of its span after `at`. */
export function flexibleCredits(debits: readonly Debit[], at: number): { debit: Debit; amount: bigint }[] {
  return debits.map((debit) => ({ debit, amount: -prorate(debit.amount, remainingShare(debit, at)) })).filter((c) => c.amount !== 0n);
}

/** The charge for the remaining time of the item as it is now (`full` = full-period amount). */
export function remainingCharge(full: Dec, period: Period, at: number): bigint {
  return prorate(full, remainingShare(period, at));
}

export interface LicensedChange {
  mode: ProrationMode;
  /** The full billing period containing `at` (boundary to boundary). */
  period: Period;
  at: number;
  /** The item before the change: its exact full-period amount and (flexible) its standing debits. null: a new item. */
  before: { full: Dec; debits: readonly Debit[] } | null;
  /** The item after the change: its exact full-period amount. null: removed, or the subscription canceled. */
  after: { full: Dec } | null;
}

/**
 * The proration items of one licensed item's change at `at`: credits for the unused time of the
 * item as it was, then the charge for the remaining time of the item as it is. Zero amounts
 * make no item.
 */
export function prorateChange(c: LicensedChange): Proration[] {
  const span = { start: Math.max(c.at, c.period.start), end: c.period.end };
  if (span.start >= span.end) return [];
  const out: Proration[] = [];
  if (c.before) {
    if (c.mode === 'classic') {
      const amount = classicCredit(c.before.full, c.period, c.at);
      if (amount !== 0n) out.push({ kind: 'credit', amount, period: span, credited_invoice_item: null });
    } else {
      for (const { debit, amount } of flexibleCredits(c.before.debits, c.at))
        out.push({ kind: 'credit', amount, period: span, credited_invoice_item: debit.invoice_item });
    }
  }
  if (c.after) {
    const amount = remainingCharge(c.after.full, c.period, c.at);
    if (amount !== 0n) out.push({ kind: 'charge', amount, period: span, credited_invoice_item: null });
  }
  return out;
}

/**
 * The debits standing after a change: a prorated change replaces them with its charge (the credits
 * took back everything after `at`); a change without prorations leaves them as they were.
 */
export function debitsAfter(
  before: readonly Debit[],
  prorations: readonly Proration[],
  chargeItem: string | null,
  prorated: boolean,
): Debit[] {
  if (!prorated) return [...before];
  const charge = prorations.find((p) => p.kind === 'charge');
  return charge ? [{ amount: charge.amount, start: charge.period.start, end: charge.period.end, invoice_item: chargeItem }] : [];
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `16 Jan 2026` (UTC), as Stripe dates proration descriptions. */
export function prorationDate(at: number): string {
  const d = new Date(at * 1000);
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

/** Stripe's proration descriptions: "Unused time on 2 × Pro after 16 Jan 2026" / "Remaining time on 3 × Pro after 16 Jan 2026". */
export function prorationDescription(kind: Proration['kind'], quantity: number, productName: string, at: number): string {
  return `${kind === 'credit' ? 'Unused' : 'Remaining'} time on ${quantity} × ${productName} after ${prorationDate(at)}`;
}
