import { DomainError } from '@meterflow/kernel';
import { describe, expect, it } from 'vitest';
import { expandObject, expandPaths } from './expand.js';

const objects: Record<string, Record<string, unknown>> = {
  cus_1: { id: 'cus_1', object: 'customer', test_clock: 'clock_1' },
  clock_1: { id: 'clock_1', object: 'test_helpers.test_clock' },
  prod_1: { id: 'prod_1', object: 'product', default_price: null },
  price_1: { id: 'price_1', object: 'price', product: 'prod_1' },
};

function fetcher() {
  const calls: string[] = [];
  const fetch = async (id: string) => {
    calls.push(id);
    const o = objects[id];
    return o ? structuredClone(o) : undefined;
  };
  return { calls, fetch };
}

describe('expandPaths', () => {
  it('reads form arrays, JSON arrays and numeric-keyed objects; limits depth', () => {
    expect(expandPaths(undefined)).toEqual([]);
    expect(expandPaths(['customer', 'customer'])).toEqual(['customer']);
    expect(expandPaths({ '0': 'a', '1': 'b' })).toEqual(['a', 'b']);
    expect(expandPaths('customer')).toEqual(['customer']);
    expect(() => expandPaths(['a.b.c.d.e'])).toThrow(/more than 4 levels/);
  });
});

describe('expandObject', () => {
  it('replaces ids with objects, recursing through dotted paths', async () => {
    const { fetch } = fetcher();
    const sub = { id: 'sub_1', object: 'subscription', customer: 'cus_1', test_clock: null };
    await expandObject(sub, ['customer.test_clock', 'test_clock'], fetch);
    expect(sub).toEqual({
      id: 'sub_1',
      object: 'subscription',
      customer: { id: 'cus_1', object: 'customer', test_clock: { id: 'clock_1', object: 'test_helpers.test_clock' } },
      test_clock: null,
    });
  });

  it('expands inside lists with data.x, fetching each id once', async () => {
    const { fetch, calls } = fetcher();
    const list = {
      object: 'list',
      data: [
        { id: 'sub_1', object: 'subscription', customer: 'cus_1' },
        { id: 'sub_2', object: 'subscription', customer: 'cus_1' },
      ],
      has_more: false,
      url: '/v1/subscriptions',
    };
    await expandObject(list, ['data.customer'], fetch);
    expect(list.data.map((s) => (s.customer as unknown as { id: string }).id)).toEqual(['cus_1', 'cus_1']);
    expect(calls).toEqual(['cus_1']);
  });

  it('walks embedded objects and nested hashes', async () => {
    const { fetch } = fetcher();
    const invoice = {
      id: 'in_1',
      object: 'invoice',
      parent: null,
      lines: {
        object: 'list',
        data: [
          { id: 'il_1', object: 'line_item', pricing: { type: 'price_details', price_details: { price: 'price_1', product: 'prod_1' } } },
        ],
      },
    };
    await expandObject(invoice, ['lines.data.pricing.price_details.price', 'parent.subscription_details.subscription'], fetch);
    expect(invoice.lines.data[0]!.pricing.price_details.price).toMatchObject({ id: 'price_1', object: 'price' });
    const sub = {
      id: 'sub_1',
      object: 'subscription',
      items: { object: 'list', data: [{ object: 'subscription_item', price: { id: 'price_1', object: 'price', product: 'prod_1' } }] },
    };
    await expandObject(sub, ['items.data.price.product'], fetch);
    expect(sub.items.data[0]!.price.product).toMatchObject({ id: 'prod_1', object: 'product' });
  });

  it('rejects fields that cannot be expanded', async () => {
    const { fetch } = fetcher();
    const err = await expandObject({ id: 'cus_1', object: 'customer', name: 'x' }, ['name'], fetch).catch((e) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).message).toBe('This property cannot be expanded (name).');
    expect((err as DomainError).status).toBe(400);
    await expect(expandObject({ object: 'billing.meter_event' }, ['payload'], fetch)).rejects.toThrow('cannot be expanded (payload)');
    await expect(expandObject({ object: 'list', data: [{ object: 'customer', email: 'a' }] }, ['data.email'], fetch)).rejects.toThrow(
      'cannot be expanded (data.email)',
    );
  });
});
