import { describe, expect, it } from 'vitest';
import { eventContractViolation, stripeEvent, StripeEventAnnounced } from './core.js';
import {
  CREDIT_LEDGER_EVENTS,
  CreditBalanceTransactionRecorded,
  CreditGrantCreated,
  CreditGrantExpired,
  CreditGrantUpdated,
  CreditGrantVoided,
  InvoiceCreditsReinstated,
  InvoiceFundedCreditGrant,
  LedgerInvoiceCreditsApplied,
} from './credit-ledger.js';

// Shaped like the credit-grant decider's output (amounts are bigint in code) and the service's
// per-invoice facts; the decider's own output is checked in services/credit-ledger.
const grant = {
  id: 'credgr_1',
  customer: 'cus_1',
  test_clock: null,
  currency: 'usd',
  amount: 1_000n,
  category: 'paid' as const,
  scope: { price_type: 'metered' as const, prices: null },
  priority: 50,
  effective_at: 100,
  expires_at: 900,
  name: 'Pack',
  metadata: { k: 'v' },
  created: 100,
};
const posting = {
  id: 'cbtxn_1',
  credit_grant: 'credgr_1',
  customer: 'cus_1',
  test_clock: 'clock_1',
  currency: 'usd',
  type: 'debit' as const,
  reason: 'credits_applied' as const,
  amount: 250n,
  effective_at: 200,
  created: 200,
  invoice: 'in_1',
  invoice_line_item: 'il_1',
  idempotency_key: 'apply:in_1:il_1',
};

const check = (e: { type: string; data: unknown }) => eventContractViolation(CREDIT_LEDGER_EVENTS, e.type, e.data);

describe('CREDIT_LEDGER_EVENTS', () => {
  it('accepts every event the service appends', () => {
    const events = [
      CreditGrantCreated(grant),
      CreditGrantUpdated({ expires_at: null, metadata: {}, updated: 150 }),
      CreditGrantUpdated({ updated: 150 }),
      CreditGrantExpired({ expires_at: 900, updated: 900 }),
      CreditGrantVoided({ voided_at: 300, updated: 300 }),
      CreditBalanceTransactionRecorded(posting),
      CreditBalanceTransactionRecorded({ ...posting, type: 'credit', reason: 'credits_granted', invoice: null, invoice_line_item: null }),
      LedgerInvoiceCreditsApplied({
        invoice: 'in_1',
        customer: 'cus_1',
        currency: 'usd',
        at: 200,
        applications: [{ line: 'il_1', amount: 250, credit_balance_transaction: 'cbtxn_1', credit_grant: 'credgr_1' }],
      }),
      InvoiceCreditsReinstated({ invoice: 'in_1', at: 300, credit_balance_transactions: ['cbtxn_2'] }),
      InvoiceFundedCreditGrant({ invoice: 'in_1', credit_grant: 'credgr_2' }),
      stripeEvent('evt_1', 'billing.credit_grant.created', { id: 'credgr_1', object: 'billing.credit_grant' }, 100),
      StripeEventAnnounced({
        id: 'evt_2',
        type: 'billing.credit_grant.updated',
        created: 100,
        request: { id: null, idempotency_key: null },
        since: 3,
      }),
    ];
    for (const e of events) expect(check(e), e.type).toBeNull();
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(CREDIT_LEDGER_EVENTS.keys()));
  });

  it('accepts amounts as stored (decimal strings), the shape a replay reads back', () => {
    expect(check({ type: 'CreditGrantCreated', data: { ...grant, amount: '1000' } })).toBeNull();
    expect(CreditGrantCreated.schema.parse({ ...grant, amount: '1000' }).amount).toBe(1_000n);
  });

  it('rejects malformed events and unknown types', () => {
    expect(check({ type: 'CreditGrantCreated', data: { ...grant, amount: '10.5' } })).toMatch(/^amount: /);
    expect(check({ type: 'CreditGrantCreated', data: { ...grant, category: 'free' } })).toMatch(/^category: /);
    const { customer: _c, ...noCustomer } = posting;
    expect(check({ type: 'CreditBalanceTransactionRecorded', data: noCustomer })).toMatch(/^customer: /);
    expect(check({ type: 'CreditBalanceTransactionRecorded', data: { ...posting, reason: 'refund' } })).toMatch(/^reason: /);
    expect(check({ type: 'InvoiceCreditsApplied', data: { invoice: 'in_1', at: 1, applications: [] } })).not.toBeNull();
    expect(check({ type: 'CreditGrantDeleted', data: {} })).toBe("unknown event type 'CreditGrantDeleted'");
  });
});
