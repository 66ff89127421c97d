import { deciderSpec } from '@meterflow/testing';
import { describe, expect, it } from 'vitest';
import type { CustomerObject, ProductObject } from './catalog.events.js';
import { customerDecider } from './customer.decider.js';
import { createPrice } from './price.js';
import { priceDecider } from './price.decider.js';
import { productDecider } from './product.decider.js';

// Only the fields the deciders touch; the rest of Stripe's shape is the handlers' (and the contract spec's).
const customer = { id: 'cus_1', object: 'customer', email: 'a@example.com', name: 'A', metadata: { k: 'v' } } as unknown as CustomerObject;
const product = {
  id: 'prod_1',
  object: 'product',
  name: 'Seat',
  default_price: null,
  metadata: {},
  updated: 1,
} as unknown as ProductObject;
const price = createPrice(
  { currency: 'usd', product: 'prod_1', unit_amount: 500, recurring: { interval: 'month' }, lookup_key: 'seat' },
  'price_1',
  1,
);

describe('customer decider', () => {
  const created = [{ type: 'CustomerCreated' as const, data: { customer } }];
  it('given nothing, when created, then CustomerCreated with the object', () => {
    deciderSpec(customerDecider).given().when({ type: 'CreateCustomer', customer }).then(created);
  });
  it('refuses a second creation', () => {
    deciderSpec(customerDecider).given(created).when({ type: 'CreateCustomer', customer }).then({ code: 'resource_already_exists' });
  });
  it('when updated, then the object after the change, the attributes before it, and metadata patched', () => {
    deciderSpec(customerDecider)
      .given(created)
      .when({ type: 'UpdateCustomer', fields: { email: 'b@example.com' }, metadata: { k: '', n: '1' } })
      .then([
        {
          type: 'CustomerUpdated',
          data: {
            customer: { ...customer, email: 'b@example.com', metadata: { n: '1' } },
            previous_attributes: { email: 'a@example.com', metadata: { k: 'v' } },
          },
        },
      ]);
  });
  it('when deleted, then deleted once; a deleted customer is missing', () => {
    deciderSpec(customerDecider)
      .given(created)
      .when({ type: 'DeleteCustomer' })
      .then((events, s) => {
        expect(events).toEqual([{ type: 'CustomerDeleted', data: { id: 'cus_1' } }]);
        expect(s).toEqual({ object: customer, deleted: true });
      });
    const deleted = [...created, { type: 'CustomerDeleted' as const, data: { id: 'cus_1' } }];
    deciderSpec(customerDecider).given(deleted).when({ type: 'DeleteCustomer' }).then({ code: 'resource_missing' });
    deciderSpec(customerDecider)
      .given(deleted)
      .when({ type: 'UpdateCustomer', fields: {}, metadata: undefined })
      .then({ code: 'resource_missing' });
  });
});

describe('product decider', () => {
  const created = [{ type: 'ProductCreated' as const, data: { product } }];
  it('creates once', () => {
    deciderSpec(productDecider).given().when({ type: 'CreateProduct', product }).then(created);
    deciderSpec(productDecider).given(created).when({ type: 'CreateProduct', product }).then({ code: 'resource_already_exists' });
  });
  it('when updated, then updated is the command time and default_price is set only when given', () => {
    deciderSpec(productDecider)
      .given(created)
      .when({ type: 'UpdateProduct', now: 50, fields: { name: 'Seats' }, metadata: undefined, default_price: 'price_1' })
      .then((_, s) => expect(s).toEqual({ ...product, name: 'Seats', default_price: 'price_1', updated: 50 }));
    deciderSpec(productDecider)
      .given(created)
      .when({ type: 'UpdateProduct', now: 50, fields: {}, metadata: { a: 'b' } })
      .then((_, s) => expect(s).toEqual({ ...product, metadata: { a: 'b' }, updated: 50 }));
  });
  it('refuses to update a product that does not exist', () => {
    deciderSpec(productDecider)
      .given()
      .when({ type: 'UpdateProduct', now: 1, fields: {}, metadata: undefined })
      .then({ code: 'resource_missing' });
  });
});

describe('price decider', () => {
  const created = [{ type: 'PriceCreated' as const, data: { price } }];
  it('creates once', () => {
    deciderSpec(priceDecider).given().when({ type: 'CreatePrice', price }).then(created);
    deciderSpec(priceDecider).given(created).when({ type: 'CreatePrice', price }).then({ code: 'resource_already_exists' });
  });
  it('when updated, then only the given fields change, with their previous values', () => {
    deciderSpec(priceDecider)
      .given(created)
      .when({ type: 'UpdatePrice', active: false, nickname: 'n', metadata: undefined })
      .then([
        {
          type: 'PriceUpdated',
          data: { price: { ...price, active: false, nickname: 'n' }, previous_attributes: { active: true, nickname: null } },
        },
      ]);
  });
  it('when another price takes its lookup key, then its lookup_key is null', () => {
    deciderSpec(priceDecider)
      .given(created)
      .when({ type: 'ReleaseLookupKey' })
      .then((_, s) => expect(s!.lookup_key).toBeNull());
  });
  it('refuses to update or release a price that does not exist', () => {
    deciderSpec(priceDecider).given().when({ type: 'UpdatePrice', metadata: undefined }).then({ code: 'resource_missing' });
    deciderSpec(priceDecider).given().when({ type: 'ReleaseLookupKey' }).then({ code: 'resource_missing' });
  });
});
