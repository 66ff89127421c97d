import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, startIngestion, type Harness } from './harness.js';

describe('meters (int)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startIngestion();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('creates, retrieves, lists, updates, deactivates and reactivates a meter', async () => {
    const m = await h.call('meters.create', { display_name: 'API calls', event_name: 'api_call', default_aggregation: { formula: 'sum' } });
    expect(m).toMatchObject({
      object: 'billing.meter',
      display_name: 'API calls',
      event_name: 'api_call',
      status: 'active',
      customer_mapping: { event_payload_key: 'stripe_customer_id', type: 'by_id' },
      value_settings: { event_payload_key: 'value' },
      default_aggregation: { formula: 'sum' },
      event_time_window: null,
      status_transitions: { deactivated_at: null },
      livemode: false,
    });
    expect(m.id).toMatch(/^mtr_/);
    expect(await h.call('meters.retrieve', {}, { id: m.id })).toEqual(m);

    const upd = await h.call('meters.update', { display_name: 'Calls' }, { id: m.id });
    expect(upd.display_name).toBe('Calls');
    const off = await h.call('meters.deactivate', {}, { id: m.id });
    expect(off.status).toBe('inactive');
    expect(off.status_transitions.deactivated_at).toBeTypeOf('number');
    const m2 = await h.call('meters.create', {
      display_name: 'Tokens',
      event_name: 'tokens',
      default_aggregation: { formula: 'last' },
      customer_mapping: { event_payload_key: 'cust', type: 'by_id' },
      value_settings: { event_payload_key: 'n' },
      event_time_window: 'hour',
    });
    expect(m2).toMatchObject({
      customer_mapping: { event_payload_key: 'cust' },
      value_settings: { event_payload_key: 'n' },
      event_time_window: 'hour',
    });

    const inactive = await h.call('meters.list', { status: 'inactive' });
    expect(inactive.data.map((x: { id: string }) => x.id)).toEqual([m.id]);
    const all = await h.call('meters.list', { limit: '1' });
    expect(all).toMatchObject({ object: 'list', has_more: true, url: '/v1/billing/meters' });
    expect(all.data[0].id).toBe(m2.id);
    const next = await h.call('meters.list', { limit: '1', starting_after: m2.id });
    expect(next.data[0].id).toBe(m.id);

    const on = await h.call('meters.reactivate', {}, { id: m.id });
    expect(on.status).toBe('active');
    expect(on.status_transitions.deactivated_at).toBeNull();
  });

  it('refuses a second meter with the same event_name, bad formulas and unknown meters', async () => {
    await h.call('meters.create', { display_name: 'x', event_name: 'dup_name', default_aggregation: { formula: 'count' } });
    const dup = await errorOf(
      h.call('meters.create', { display_name: 'y', event_name: 'dup_name', default_aggregation: { formula: 'count' } }),
    );
    expect(dup).toMatchObject({ status: 400, param: 'event_name' });
    const bad = await errorOf(h.call('meters.create', { display_name: 'y', event_name: 'z', default_aggregation: { formula: 'max' } }));
    expect(bad).toMatchObject({ status: 400, param: 'default_aggregation[formula]' });
    const missing = await errorOf(h.call('meters.create', { event_name: 'z', default_aggregation: { formula: 'sum' } }));
    expect(missing).toMatchObject({ code: 'parameter_missing', param: 'display_name' });
    const nf = await errorOf(h.call('meters.retrieve', {}, { id: 'mtr_nope' }));
    expect(nf).toMatchObject({ status: 404, code: 'resource_missing', message: "No such billing.meter: 'mtr_nope'" });
  });
});
