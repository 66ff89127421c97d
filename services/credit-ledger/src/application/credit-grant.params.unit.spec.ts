import { describe, expect, it } from 'vitest';
import { parseCreateGrant, parseSummary } from './credit-grant.params.js';

const base = { customer: 'cus_1', amount: { type: 'monetary', monetary: { currency: 'usd', value: '1000' } } };

// Seeds 000/002 ("create a credit grant that only applies to a specific metered item"):
// applicability_config[scope][billable_items][0][id]. Here a billable item is a metered price
// (docs/credits.md), so such a grant is scoped like one with `prices`.
describe('grants scoped to billable items', () => {
  it('a billable item is a metered price: the grant is price-scoped', () => {
    const g = parseCreateGrant({
      ...base,
      applicability_config: { scope: { billable_items: [{ id: 'price_car' }, { id: 'price_van' }] } },
    });
    expect(g.scope).toEqual({ price_type: null, prices: ['price_car', 'price_van'] });
  });
  it('refuses an id that is not a price, naming the field', () => {
    expect(() => parseCreateGrant({ ...base, applicability_config: { scope: { billable_items: [{ id: 'mtr_1' }] } } })).toThrow(
      expect.objectContaining({ param: 'applicability_config[scope][billable_items][0][id]', status: 400 }),
    );
  });
  it('is exclusive with price_type and prices', () => {
    expect(() =>
      parseCreateGrant({ ...base, applicability_config: { scope: { price_type: 'metered', billable_items: [{ id: 'price_car' }] } } }),
    ).toThrow();
    expect(() =>
      parseCreateGrant({
        ...base,
        applicability_config: { scope: { prices: [{ id: 'price_van' }], billable_items: [{ id: 'price_car' }] } },
      }),
    ).toThrow();
  });
  it('summaries filter by billable items like by prices', () => {
    expect(
      parseSummary({
        customer: 'cus_1',
        filter: { type: 'applicability_scope', applicability_scope: { billable_items: [{ id: 'price_car' }] } },
      }).filter,
    ).toEqual({ type: 'applicability_scope', priceType: null, prices: ['price_car'] });
  });
});
