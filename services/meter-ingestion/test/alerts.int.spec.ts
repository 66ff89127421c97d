import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@meterflow/testing';
import { errorOf, startIngestion, type Harness } from './harness.js';

describe('usage alerts (int)', () => {
  let h: Harness;
  let meter: string;
  const received: any[] = [];
  beforeAll(async () => {
    h = await startIngestion();
    meter = (await h.call('meters.create', { display_name: 'Calls', event_name: 'calls', default_aggregation: { formula: 'sum' } })).id;
    h.svc.nc.subscribe(h.svc.names.eventSubject('billing.alert.triggered'), { callback: (_e, m) => void received.push(m.json()) });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('create, retrieve, list, deactivate, activate, archive', async () => {
    const a = await h.call('alerts.create', {
      alert_type: 'usage_threshold',
      title: 'Big',
      usage_threshold: { gte: '10', meter, recurrence: 'one_time' },
    });
    expect(a).toEqual({
      id: expect.stringMatching(/^alrt_/),
      object: 'billing.alert',
      alert_type: 'usage_threshold',
      livemode: false,
      status: 'active',
      title: 'Big',
      usage_threshold: { filters: null, gte: 10, meter, recurrence: 'one_time' },
    });
    expect(await h.call('alerts.retrieve', {}, { id: a.id })).toEqual(a);
    expect((await h.call('alerts.deactivate', {}, { id: a.id })).status).toBe('inactive');
    expect((await h.call('alerts.activate', {}, { id: a.id })).status).toBe('active');
    expect((await h.call('alerts.archive', {}, { id: a.id })).status).toBe('archived');
    expect(await errorOf(h.call('alerts.activate', {}, { id: a.id }))).toMatchObject({ status: 400 });
    const list = await h.call('alerts.list', { meter });
    expect(list.data.map((x: any) => x.id)).toContain(a.id);
    expect(
      await errorOf(
        h.call('alerts.create', {
          alert_type: 'usage_threshold',
          title: 'x',
          usage_threshold: { gte: '1', meter: 'mtr_nope', recurrence: 'one_time' },
        }),
      ),
    ).toMatchObject({ status: 404 });
    expect(
      await errorOf(
        h.call('alerts.create', {
          alert_type: 'usage_threshold',
          title: 'x',
          usage_threshold: { gte: '0', meter, recurrence: 'one_time' },
        }),
      ),
    ).toMatchObject({ status: 400 });
  });

  it('billing.alert.triggered fires once per customer when usage reaches gte', async () => {
    const all = await h.call('alerts.create', {
      alert_type: 'usage_threshold',
      title: 'All',
      usage_threshold: { gte: '10', meter, recurrence: 'one_time' },
    });
    const onlyB = await h.call('alerts.create', {
      alert_type: 'usage_threshold',
      title: 'B',
      usage_threshold: { gte: '1', meter, recurrence: 'one_time', filters: [{ type: 'customer', customer: 'cus_b' }] },
    });
    const send = (customer: string, value: number) =>
      h.call('meter_events.create', { event_name: 'calls', payload: { stripe_customer_id: customer, value: String(value) } });
    // Alerts are checked as usage is written, batch by batch: the reported value is the usage at
    // that check. Each step waits for its trigger so that the values are deterministic.
    const triggered = (alert: string, customer: string) =>
      eventually(async () => received.find((e) => e.data.object.alert.id === alert && e.data.object.customer === customer), 15_000);
    await send('cus_a', 6);
    await send('cus_a', 4); // reaches 10
    await triggered(all.id, 'cus_a');
    await send('cus_a', 5); // already triggered
    await send('cus_b', 3);
    await triggered(onlyB.id, 'cus_b');
    await send('cus_b', 8); // reaches 10 too
    await triggered(all.id, 'cus_b');
    await new Promise((r) => setTimeout(r, 500));
    // delivery is at least once: a subscriber dedupes by the event id (Nats-Msg-Id)
    const unique = [...new Map(received.map((e) => [e.id, e])).values()];
    const seen = unique.map((e) => `${e.data.object.alert.id}|${e.data.object.customer}|${e.data.object.value}`).sort();
    expect(seen).toEqual([`${all.id}|cus_a|10`, `${all.id}|cus_b|11`, `${onlyB.id}|cus_b|3`].sort());
    expect(received[0].data.object).toMatchObject({ object: 'billing.alert_triggered', livemode: false });
  });
});
