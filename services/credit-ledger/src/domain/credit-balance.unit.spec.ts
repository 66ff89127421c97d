import { describe, expect, it } from 'vitest';
import { summarizeBalances, type GrantBalance } from './credit-balance.js';
import { fundingFromInvoice, type PaidInvoice } from './credit-funding.js';

const gb = (id: string, over: Partial<GrantBalance> = {}): GrantBalance => ({
  id,
  currency: 'usd',
  scope: { price_type: 'metered', prices: null },
  ledgerBalance: 1000n,
  expiresAt: null,
  expired: false,
  ...over,
});
const metered = { type: 'applicability_scope', priceType: 'metered', prices: null } as const;

describe('balance summary', () => {
  it('sums per currency', () => {
    expect(summarizeBalances([gb('a'), gb('b', { ledgerBalance: 500n }), gb('c', { currency: 'eur' })], metered, 100)).toEqual([
      { currency: 'eur', available: 1000n, ledger: 1000n },
      { currency: 'usd', available: 1500n, ledger: 1500n },
    ]);
  });
  it('available leaves out grants past expires_at whose expiry is not posted yet', () => {
    expect(summarizeBalances([gb('a', { expiresAt: 50 }), gb('b')], metered, 100)).toEqual([
      { currency: 'usd', available: 1000n, ledger: 2000n },
    ]);
  });
  it('filters by credit_grant, and by scope', () => {
    const grants = [gb('a'), gb('b', { scope: { price_type: null, prices: ['price_x'] }, ledgerBalance: 7n })];
    expect(summarizeBalances(grants, { type: 'credit_grant', creditGrant: 'b' }, 100)).toEqual([
      { currency: 'usd', available: 7n, ledger: 7n },
    ]);
    expect(summarizeBalances(grants, metered, 100)).toEqual([{ currency: 'usd', available: 1000n, ledger: 1000n }]);
    expect(summarizeBalances(grants, { type: 'applicability_scope', priceType: null, prices: ['price_x'] }, 100)).toEqual([
      { currency: 'usd', available: 1007n, ledger: 1007n },
    ]);
  });
  it('no grants, no balances', () => {
    expect(summarizeBalances([], metered, 100)).toEqual([]);
  });
});

const inv = (metadata: Record<string, string> | null, over: Partial<PaidInvoice> = {}): PaidInvoice => ({
  id: 'in_1',
  number: 'MF-0001',
  customer: 'cus_1',
  currency: 'usd',
  amount_paid: 5000,
  metadata,
  paid_at: 1000,
  ...over,
});

describe('funding from a paid invoice', () => {
  it('no funding keys: nothing', () => {
    expect(fundingFromInvoice(inv(null))).toEqual({ kind: 'none' });
    expect(fundingFromInvoice(inv({ meterflow_credit_grant: 'false' }))).toEqual({ kind: 'none' });
  });
  it('meterflow_credit_grant=true: the amount paid, paid, metered, effective when paid', () => {
    expect(fundingFromInvoice(inv({ meterflow_credit_grant: 'true' }))).toEqual({
      kind: 'grant',
      request: {
        currency: 'usd',
        amount: 5000n,
        category: 'paid',
        scope: { price_type: 'metered', prices: null },
        priority: 50,
        name: 'Credits purchased with invoice MF-0001',
        effectiveAt: 1000,
        expiresAt: null,
        metadata: { meterflow_funding_invoice: 'in_1' },
      },
    });
  });
  it('every key overrides its default', () => {
    const d = fundingFromInvoice(
      inv({
        meterflow_credit_grant_amount: '1200',
        meterflow_credit_grant_currency: 'EUR',
        meterflow_credit_grant_category: 'promotional',
        meterflow_credit_grant_name: 'Bonus',
        meterflow_credit_grant_expires_at: '5000',
        meterflow_credit_grant_priority: '10',
        meterflow_credit_grant_prices: 'price_a, price_b',
      }),
    );
    expect(d).toMatchObject({
      kind: 'grant',
      request: {
        amount: 1200n,
        currency: 'eur',
        category: 'promotional',
        name: 'Bonus',
        expiresAt: 5000,
        priority: 10,
        scope: { price_type: null, prices: ['price_a', 'price_b'] },
      },
    });
  });
  it('bad values are reported, never guessed', () => {
    expect(fundingFromInvoice(inv({ meterflow_credit_grant_amount: '12.5' })).kind).toBe('invalid');
    expect(fundingFromInvoice(inv({ meterflow_credit_grant: 'true', meterflow_credit_grant_category: 'gift' })).kind).toBe('invalid');
    expect(fundingFromInvoice(inv({ meterflow_credit_grant: 'true', meterflow_credit_grant_expires_at: '900' })).kind).toBe('invalid');
    expect(fundingFromInvoice(inv({ meterflow_credit_grant: 'true' }, { amount_paid: 0 })).kind).toBe('invalid');
  });
});
