import { describe, expect, it } from 'vitest';
import { automaticFinalizationAt, finalizedAtCreation, ofChangeItemsOnly, reRatedAtFinalization } from './subscription-invoice.rules.js';

const draft = { subscription: 'sub_1', idempotency_key: 'sub_1:0:x', credits_applied: false };

// Issue 8 item 1: the creation invoice is finalized at once; reference §4 "Invoice timing": the
// others wait the grace period and are re-rated with the usage that arrived during it.
describe('subscription invoices: when they finalize', () => {
  it('a subscription_create invoice finalizes at creation and is not re-rated', () => {
    expect(automaticFinalizationAt('subscription_create', 100, 3600)).toBe(100);
    expect(finalizedAtCreation('subscription_create')).toBe(true);
    expect(reRatedAtFinalization({ ...draft, billing_reason: 'subscription_create' })).toBe(false);
  });
  it('a cycle or update invoice waits the grace period and is re-rated until credits are recorded', () => {
    for (const reason of ['subscription_cycle', 'subscription_update'] as const) {
      expect(automaticFinalizationAt(reason, 100, 3600)).toBe(3700);
      expect(finalizedAtCreation(reason)).toBe(false);
      expect(reRatedAtFinalization({ ...draft, billing_reason: reason })).toBe(true);
      expect(reRatedAtFinalization({ ...draft, billing_reason: reason, credits_applied: true })).toBe(false);
    }
  });
  // Issue 8 item 6: the period-end invoice is net of exactly what the threshold invoice billed.
  it('a threshold invoice waits the grace period but keeps the lines billed when the threshold was reached', () => {
    expect(automaticFinalizationAt('subscription_threshold', 100, 3600)).toBe(3700);
    expect(finalizedAtCreation('subscription_threshold')).toBe(false);
    expect(reRatedAtFinalization({ ...draft, billing_reason: 'subscription_threshold' })).toBe(false);
  });
  it('a manual invoice is never re-rated', () => {
    expect(reRatedAtFinalization({ ...draft, subscription: null, idempotency_key: null, billing_reason: 'manual' })).toBe(false);
  });
});

// Issue 8 items 5 and 7: `proration_behavior=always_invoice` invoices the change's items at once.
describe('subscription invoices made of a change’s invoice items alone', () => {
  const line = { type: 'invoice_item_details' };
  it('finalize at once and are not re-rated (nothing on them is usage still arriving)', () => {
    const req = { lines: [], invoice_items: [{}] };
    expect(ofChangeItemsOnly(req)).toBe(true);
    expect(automaticFinalizationAt('subscription_update', 100, 3600, ofChangeItemsOnly(req))).toBe(100);
    expect(finalizedAtCreation('subscription_update', true)).toBe(true);
    expect(reRatedAtFinalization({ ...draft, billing_reason: 'subscription_update', lines: [line] })).toBe(false);
  });
  it('a change that also bills usage (invoice_now with metered items) waits the grace period and is re-rated', () => {
    expect(ofChangeItemsOnly({ lines: [{}], invoice_items: [{}] })).toBe(false);
    expect(ofChangeItemsOnly({ lines: [] })).toBe(false);
    expect(
      reRatedAtFinalization({ ...draft, billing_reason: 'subscription_update', lines: [line, { type: 'subscription_item_details' }] }),
    ).toBe(true);
  });
});
