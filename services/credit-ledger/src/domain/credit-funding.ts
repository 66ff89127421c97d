import type { Category, Scope } from './credit-grant.decider.js';

/**
 * Funding credits from a paid invoice, driven by the invoice's metadata (see docs/credits.md):
 * operators set these keys when they create the purchase invoice and need no code.
 */
export const FUNDING_KEYS = {
  enabled: 'meterflow_credit_grant',
  amount: 'meterflow_credit_grant_amount',
  currency: 'meterflow_credit_grant_currency',
  category: 'meterflow_credit_grant_category',
  name: 'meterflow_credit_grant_name',
  effectiveAt: 'meterflow_credit_grant_effective_at',
  expiresAt: 'meterflow_credit_grant_expires_at',
  priority: 'meterflow_credit_grant_priority',
  prices: 'meterflow_credit_grant_prices',
} as const;

export interface PaidInvoice {
  id: string;
  number?: string | null;
  customer: string;
  currency: string;
  amount_paid: number;
  metadata: Record<string, string> | null;
  paid_at: number;
}

export interface FundingRequest {
  currency: string;
  amount: bigint;
  category: Category;
  scope: Scope;
  priority: number;
  name: string;
  effectiveAt: number;
  expiresAt: number | null;
  metadata: Record<string, string>;
}

export type FundingDecision = { kind: 'none' } | { kind: 'grant'; request: FundingRequest } | { kind: 'invalid'; reason: string };

const INT = /^\d+$/;

/** Does this paid invoice ask for a credit grant, and which one? Pure; never throws. */
export function fundingFromInvoice(inv: PaidInvoice): FundingDecision {
  const md = inv.metadata ?? {};
  const enabled = md[FUNDING_KEYS.enabled];
  const asked = (enabled !== undefined && enabled !== 'false' && enabled !== '') || md[FUNDING_KEYS.amount] !== undefined;
  if (!asked) return { kind: 'none' };

  const amountRaw = md[FUNDING_KEYS.amount];
  if (amountRaw !== undefined && !INT.test(amountRaw))
    return { kind: 'invalid', reason: `${FUNDING_KEYS.amount} must be a positive integer (minor units)` };
  const amount = amountRaw !== undefined ? BigInt(amountRaw) : BigInt(inv.amount_paid);
  if (amount <= 0n) return { kind: 'invalid', reason: 'credit grant amount resolves to 0' };

  const currency = (md[FUNDING_KEYS.currency] ?? inv.currency).toLowerCase();
  if (!/^[a-z]{3}$/.test(currency)) return { kind: 'invalid', reason: `${FUNDING_KEYS.currency} must be a 3-letter currency code` };

  const category = md[FUNDING_KEYS.category] ?? 'paid';
  if (category !== 'paid' && category !== 'promotional')
    return { kind: 'invalid', reason: `${FUNDING_KEYS.category} must be paid or promotional` };

  const priorityRaw = md[FUNDING_KEYS.priority];
  if (priorityRaw !== undefined && (!INT.test(priorityRaw) || Number(priorityRaw) > 100)) {
    return { kind: 'invalid', reason: `${FUNDING_KEYS.priority} must be an integer 0..100` };
  }
  const effRaw = md[FUNDING_KEYS.effectiveAt];
  if (effRaw !== undefined && !INT.test(effRaw)) return { kind: 'invalid', reason: `${FUNDING_KEYS.effectiveAt} must be unix seconds` };
  const effectiveAt = effRaw !== undefined ? Number(effRaw) : inv.paid_at;
  const expRaw = md[FUNDING_KEYS.expiresAt];
  if (expRaw !== undefined && !INT.test(expRaw)) return { kind: 'invalid', reason: `${FUNDING_KEYS.expiresAt} must be unix seconds` };
  const expiresAt = expRaw !== undefined ? Number(expRaw) : null;
  if (expiresAt !== null && expiresAt <= effectiveAt)
    return { kind: 'invalid', reason: `${FUNDING_KEYS.expiresAt} must be after the grant becomes effective` };

  const pricesRaw = md[FUNDING_KEYS.prices];
  const prices = pricesRaw
    ? pricesRaw
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
    : [];
  const scope: Scope = prices.length > 0 ? { price_type: null, prices } : { price_type: 'metered', prices: null };

  return {
    kind: 'grant',
    request: {
      currency,
      amount,
      category,
      scope,
      priority: priorityRaw !== undefined ? Number(priorityRaw) : 50,
      name: md[FUNDING_KEYS.name] ?? `Credits purchased with invoice ${inv.number ?? inv.id}`,
      effectiveAt,
      expiresAt,
      metadata: { meterflow_funding_invoice: inv.id },
    },
  };
}
