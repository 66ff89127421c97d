import { describe, expect, it } from 'vitest';
import { deciderSpec } from '@meterflow/testing';
import { InvoiceKeyClaimed, INVOICING_EVENTS, eventContractViolation } from '@meterflow/contracts';
import { invoiceKeyDecider } from './invoice-key.decider.js';

const claim = { type: 'ClaimInvoiceKey' as const, key: 'sub_1:1000:subscription_cycle', invoice: 'in_1' };

describe('invoice key', () => {
  it('the first claim names the invoice; later claims record nothing', () => {
    deciderSpec(invoiceKeyDecider)
      .given([])
      .when(claim)
      .then([InvoiceKeyClaimed({ key: claim.key, invoice: 'in_1' })]);
    deciderSpec(invoiceKeyDecider)
      .given([InvoiceKeyClaimed({ key: claim.key, invoice: 'in_1' })])
      .when({ ...claim, invoice: 'in_2' })
      .then((events, after) => {
        expect(events).toEqual([]);
        expect(after).toEqual({ invoice: 'in_1' });
      });
  });

  it('emits what the event contract accepts', () => {
    const [e] = invoiceKeyDecider.decide(claim, null);
    expect(eventContractViolation(INVOICING_EVENTS, e!.type, e!.data)).toBeNull();
  });
});
