import { isUsableAt, type GrantState, type Scope } from './credit-grant.decider.js';

/** An invoice line that credits may pay (amount in minor units, after discounts). */
export interface PayableLine {
  id: string;
  amount: bigint;
  price: string | null;
  /** The line's price has a billing meter: credits only ever pay such lines. */
  metered: boolean;
}

export interface Allocation {
  line: string;
  grant: string;
  amount: bigint;
}

/** Does a grant's applicability scope cover this line? */
export function scopeCovers(scope: Scope, line: PayableLine): boolean {
  if (!line.metered) return false;
  if (scope.prices && scope.prices.length > 0) return line.price !== null && scope.prices.includes(line.price);
  return scope.price_type === 'metered';
}

/** Usable at `at` (effective, funded, not expired, not voided), same currency, something left. */
export function isEligible(g: GrantState, currency: string, at: number): boolean {
  return isUsableAt(g, at) && g.currency === currency.toLowerCase() && g.balance > 0n;
}

/**
 * Could this grant still pay at `at` once brought up to date by a Tick: live, effective by then,
 * and either not funded yet or with something left. The same test as the ledger's candidate query
 * over the read model, on a state: a batch re-checks it between requests, since an earlier request
 * of the batch may have used a grant up or expired it.
 */
export function isApplyCandidate(g: GrantState, at: number): boolean {
  return g.exists && g.voidedAt === null && g.expiredAt === null && g.effectiveAt <= at && (!g.granted || g.balance > 0n);
}

const CATEGORY_RANK: Record<string, number> = { promotional: 0, paid: 1 };

/**
 * Stripe's order for several grants: priority (0 first), soonest expiry (no expiry last),
 * promotional before paid, earlier effective_at, earlier created; then id, to be total.
 */
export function compareGrants(a: GrantState, b: GrantState): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  if (a.expiresAt !== b.expiresAt) {
    if (a.expiresAt === null) return 1;
    if (b.expiresAt === null) return -1;
    return a.expiresAt - b.expiresAt;
  }
  const ca = CATEGORY_RANK[a.category] ?? 2;
  const cb = CATEGORY_RANK[b.category] ?? 2;
  if (ca !== cb) return ca - cb;
  if (a.effectiveAt !== b.effectiveAt) return a.effectiveAt - b.effectiveAt;
  if (a.created !== b.created) return a.created - b.created;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Which grant pays how much of which line. Lines are paid in invoice order; each line takes from
 * the eligible grants that cover it, in Stripe's order, never more than the line's amount or a
 * grant's remaining balance. Each (line, grant) pair is one allocation = one debit transaction.
 */
export function allocateCredits(grants: readonly GrantState[], lines: readonly PayableLine[], currency: string, at: number): Allocation[] {
  const ordered = grants.filter((g) => isEligible(g, currency, at)).sort(compareGrants);
  const remaining = new Map(ordered.map((g) => [g.id, g.balance]));
  const out: Allocation[] = [];
  for (const line of lines) {
    let open = line.amount;
    if (open <= 0n) continue;
    for (const g of ordered) {
      if (open === 0n) break;
      if (!scopeCovers(g.scope, line)) continue;
      const left = remaining.get(g.id) ?? 0n;
      if (left <= 0n) continue;
      const take = left < open ? left : open;
      out.push({ line: line.id, grant: g.id, amount: take });
      remaining.set(g.id, left - take);
      open -= take;
    }
  }
  return out;
}
