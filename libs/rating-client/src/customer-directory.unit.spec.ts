import { describe, expect, it } from 'vitest';
import { CustomerDirectory } from './customer-directory.js';

describe('CustomerDirectory without rating (null RpcClient)', () => {
  it('answers that every customer exists, on the system clock', async () => {
    const d = new CustomerDirectory(null, { now: () => new Date(1_700_000_000_500) });
    const view = await d.resolve(['cus_a', 'cus_b']);
    expect(view.exists('cus_a')).toBe(true);
    expect(view.exists('cus_never_asked')).toBe(true);
    expect(view.nowFor('cus_b')).toBe(1_700_000_000);
    expect(view.get('cus_a')).toEqual({ id: 'cus_a', test_clock: null, currency: null });
    expect(await d.customer('cus_c')).toEqual({ id: 'cus_c', test_clock: null, currency: null });
  });
});
