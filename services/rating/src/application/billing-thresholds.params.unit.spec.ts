import { describe, expect, it } from 'vitest';
import { decodeForm, objArr } from '@meterflow/stripe-api';
import { readBillingThresholds, refuseItemThresholds } from './billing-thresholds.params.js';

// stripe-api.md §4 "Billing thresholds": `billing_thresholds {amount_gte, reset_billing_cycle_anchor}`
// on the subscription (issue 8 item 6); `{usage_gte}` on items, which Meterflow does not implement.
describe('billing_thresholds params', () => {
  it('on the subscription: amount_gte required, reset defaults to false, "" removes them', () => {
    expect(readBillingThresholds(decodeForm('billing_thresholds[amount_gte]=2000'))).toEqual({
      amount_gte: 2000,
      reset_billing_cycle_anchor: false,
    });
    expect(readBillingThresholds(decodeForm('billing_thresholds='))).toBeNull();
    expect(readBillingThresholds(decodeForm('description=x'))).toBeUndefined();
    expect(() => readBillingThresholds(decodeForm('billing_thresholds[reset_billing_cycle_anchor]=true'))).toThrow(
      expect.objectContaining({ code: 'parameter_missing', param: 'billing_thresholds[amount_gte]' }),
    );
  });

  it('on an item: usage_gte is refused naming it (not accepted and ignored); "" is no threshold', () => {
    const [first, second] = objArr(
      decodeForm('items[0][price]=p&items[0][billing_thresholds][usage_gte]=10&items[1][price]=q&items[1][billing_thresholds]='),
      'items',
    )!;
    expect(() => refuseItemThresholds(first!)).toThrow(
      expect.objectContaining({ code: 'parameter_invalid', param: 'items[0][billing_thresholds][usage_gte]' }),
    );
    expect(() => refuseItemThresholds(second!)).not.toThrow();
    expect(() => refuseItemThresholds(decodeForm('billing_thresholds[usage_gte]=5'))).toThrow(
      expect.objectContaining({ param: 'billing_thresholds[usage_gte]' }),
    );
  });
});
