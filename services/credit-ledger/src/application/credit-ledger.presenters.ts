import type { Stripe } from '@meterflow/contracts';
import type { GrantState } from '../domain/credit-grant.decider.js';
import type { Posting } from '../domain/credit-grant.decider.js';

/** A grant as the read model stores it (pg returns bigint columns as strings). */
export interface GrantRow {
  id: string;
  customer: string;
  test_clock: string | null;
  currency: string;
  amount: string;
  category: string;
  price_type: string | null;
  prices: string[] | null;
  priority: number;
  effective_at: string;
  expires_at: string | null;
  name: string | null;
  metadata: Record<string, string>;
  created: string;
  updated: string;
  voided_at: string | null;
  expired_at: string | null;
  granted: boolean;
  ledger_balance: string;
}

export interface TransactionRow {
  id: string;
  credit_grant: string;
  customer: string;
  test_clock: string | null;
  currency: string;
  type: 'credit' | 'debit';
  reason: Posting['reason'];
  amount: string;
  effective_at: string;
  created: string;
  invoice: string | null;
  invoice_line_item: string | null;
}

const num = (v: string | number | bigint): number => Number(v);
const numOrNull = (v: string | number | null): number | null => (v === null ? null : Number(v));
const monetary = (currency: string, value: string | number | bigint) => ({
  type: 'monetary' as const,
  monetary: { currency, value: num(value) },
});

function scopeOf(priceType: string | null, prices: readonly string[] | null): Stripe.Billing.CreditGrant.ApplicabilityConfig.Scope {
  if (prices && prices.length > 0) return { prices: prices.map((id) => ({ id })) };
  return { price_type: (priceType ?? 'metered') as 'metered' };
}

export function renderGrantRow(r: GrantRow): Stripe.Billing.CreditGrant {
  return {
    id: r.id,
    object: 'billing.credit_grant',
    amount: monetary(r.currency, r.amount),
    applicability_config: { scope: scopeOf(r.price_type, r.prices) },
    category: r.category,
    created: num(r.created),
    customer: r.customer,
    customer_account: null,
    effective_at: num(r.effective_at),
    expires_at: numOrNull(r.expires_at),
    livemode: false,
    metadata: r.metadata,
    name: r.name,
    priority: r.priority,
    test_clock: r.test_clock,
    updated: num(r.updated),
    voided_at: numOrNull(r.voided_at),
  };
}

export function renderGrantState(s: GrantState): Stripe.Billing.CreditGrant {
  return {
    id: s.id,
    object: 'billing.credit_grant',
    amount: monetary(s.currency, s.amount),
    applicability_config: { scope: scopeOf(s.scope.price_type, s.scope.prices) },
    category: s.category,
    created: s.created,
    customer: s.customer,
    customer_account: null,
    effective_at: s.effectiveAt,
    expires_at: s.expiresAt,
    livemode: false,
    metadata: s.metadata,
    name: s.name,
    priority: s.priority,
    test_clock: s.testClock,
    updated: s.updated,
    voided_at: s.voidedAt,
  };
}

export function renderTransaction(t: TransactionRow | Posting): Stripe.Billing.CreditBalanceTransaction {
  const ref = t.invoice && t.invoice_line_item ? { invoice: t.invoice, invoice_line_item: t.invoice_line_item } : null;
  const amount = monetary(t.currency, t.amount);
  return {
    id: t.id,
    object: 'billing.credit_balance_transaction',
    created: num(t.created),
    credit:
      t.type === 'credit'
        ? { amount, type: t.reason, credits_application_invoice_voided: t.reason === 'credits_application_invoice_voided' ? ref : null }
        : null,
    credit_grant: t.credit_grant,
    debit: t.type === 'debit' ? { amount, type: t.reason, credits_applied: t.reason === 'credits_applied' ? ref : null } : null,
    effective_at: num(t.effective_at),
    livemode: false,
    test_clock: t.test_clock,
    type: t.type,
  };
}
