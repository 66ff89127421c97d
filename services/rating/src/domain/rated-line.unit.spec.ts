import { describe, expect, it } from 'vitest';
import { createPrice } from './price.js';
import { licensedLine, meteredLine } from './rated-line.js';
import { lineQuantity } from './rating.math.js';

// stripe-api.md §3 (transform_quantity: 150 minutes, divide_by 60, round up -> 3) and DESIGN "Money":
// the line's quantity is the usage before the transform, the amount is rated on the transformed one.
const perHour = (round: 'up' | 'down') =>
  createPrice(
    {
      currency: 'usd',
      product: 'prod_car',
      unit_amount: 1000,
      recurring: { interval: 'month', usage_type: 'metered', meter: 'mtr_car' },
      transform_quantity: { divide_by: 60, round },
    },
    'price_car',
    1,
  );
const carRental = perHour('up');
const window = { subscription_item: 'si_1', price: carRental, start: 100, end: 200 };

describe('rated lines report the quantity before transform_quantity', () => {
  it('150 minutes bill 3 hours = 30.00, and the line says 150', () => {
    expect(meteredLine(window, '150', 'Car rental')).toMatchObject({
      quantity: 150,
      amount: 3000,
      unit_amount_decimal: '1000',
      description: '150 × Car rental (per 60)',
      meter: 'mtr_car',
      period: { start: 100, end: 200 },
    });
  });

  it('a negative aggregate bills nothing and reports 0 (stripe-api.md §2 value rules)', () => {
    expect(meteredLine(window, '-20', 'Car rental')).toMatchObject({ quantity: 0, amount: 0 });
  });

  it('round=down bills whole packages only; the quantity is still the usage', () => {
    expect(meteredLine({ ...window, price: perHour('down') }, '119', 'Car rental')).toMatchObject({ quantity: 119, amount: 1000 });
  });

  it('a licensed item with transform_quantity: 150 seats in packs of 60 bill 3 packs; the line says 150', () => {
    const seats = createPrice(
      {
        currency: 'usd',
        product: 'prod_seat',
        unit_amount: 500,
        recurring: { interval: 'month' },
        transform_quantity: { divide_by: 60, round: 'up' },
      },
      'price_seat',
      1,
    );
    expect(licensedLine({ id: 'si_2', price: seats, quantity: 150 }, 100, 200, 'Seats')).toMatchObject({
      quantity: 150,
      amount: 1500,
      description: '150 × Seats (per 60)',
    });
  });

  it('lineQuantity: whole usage as is, fractions half up, negatives 0', () => {
    expect([lineQuantity('150'), lineQuantity('2.5'), lineQuantity('2.4'), lineQuantity('-3'), lineQuantity('0')]).toEqual([
      150n,
      3n,
      2n,
      0n,
      0n,
    ]);
  });
});
