import { scopeCovers } from './credit-application.js';
import type { Scope } from './credit-grant.decider.js';

/** What the balance summary needs to know about one grant (a read-model row). */
export interface GrantBalance {
  id: string;
  currency: string;
  scope: Scope;
  /** Sum of the grant's postings. */
  ledgerBalance: bigint;
  expiresAt: number | null;
  /** Expiry processed: its `credits_expired` posting is already in the ledger balance. */
  expired: boolean;
}

export type BalanceFilter =
  { type: 'credit_grant'; creditGrant: string } | { type: 'applicability_scope'; priceType: 'metered' | null; prices: string[] | null };

export interface CurrencyBalance {
  currency: string;
  available: bigint;
  ledger: bigint;
}

export function grantMatchesFilter(g: GrantBalance, f: BalanceFilter): boolean {
  if (f.type === 'credit_grant') return g.id === f.creditGrant;
  if (f.prices && f.prices.length > 0) {
    return f.prices.some((price) => scopeCovers(g.scope, { id: '', amount: 1n, price, metered: true }));
  }
  // price_type=metered: the grants that apply to every metered price.
  return g.scope.price_type === 'metered' && !(g.scope.prices && g.scope.prices.length > 0);
}

/**
 * Balances per currency. The ledger balance is what the postings say; the available balance
 * also leaves out grants past `expires_at` whose expiry has not been posted yet (Stripe's rule).
 */
export function summarizeBalances(grants: readonly GrantBalance[], filter: BalanceFilter, now: number): CurrencyBalance[] {
  const by = new Map<string, CurrencyBalance>();
  for (const g of grants) {
    if (!grantMatchesFilter(g, filter)) continue;
    const b = by.get(g.currency) ?? { currency: g.currency, available: 0n, ledger: 0n };
    b.ledger += g.ledgerBalance;
    const lapsed = !g.expired && g.expiresAt !== null && g.expiresAt <= now;
    if (!lapsed) b.available += g.ledgerBalance;
    by.set(g.currency, b);
  }
  return [...by.values()].sort((a, b) => (a.currency < b.currency ? -1 : a.currency > b.currency ? 1 : 0));
}
