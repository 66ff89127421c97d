import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorOf, startIngestion, type Harness } from './harness.js';

const HOUR = 3600;
const DAY = 86400;
const now = Math.floor(Date.now() / 1000);
const today = now - (now % DAY);
// A window inside the accepted range: from 2 days ago 00:00 UTC.
const D0 = today - 2 * DAY;

describe('summaries, usage.query and adjustments (int)', () => {
  let h: Harness;
  const meters: Record<string, string> = {};
  const send = (event_name: string, customer: string, value: number, timestamp: number, identifier: string) =>
    h.call('meter_events.create', {
      event_name,
      payload: { stripe_customer_id: customer, value: String(value) },
      timestamp: String(timestamp),
      identifier,
    });

  beforeAll(async () => {
    h = await startIngestion();
    for (const [name, formula, window] of [
      ['sum_m', 'sum', undefined],
      ['count_m', 'count', undefined],
      ['last_m', 'last', undefined],
      ['pre_hour', 'sum', 'hour'],
      ['pre_day_last', 'last', 'day'],
    ] as const) {
      const m = await h.call('meters.create', {
        display_name: name,
        event_name: name,
        default_aggregation: { formula },
        ...(window ? { event_time_window: window } : {}),
      });
      meters[name] = m.id;
    }
    let i = 0;
    for (const name of ['sum_m', 'count_m', 'last_m']) {
      await send(name, 'cus_a', 5, D0 + 10, `${name}-${i++}`); // hour 0, first minute
      await send(name, 'cus_a', 7, D0 + 70, `${name}-${i++}`); // hour 0, second minute
      await send(name, 'cus_a', 2, D0 + HOUR + 5, `${name}-${i++}`); // hour 1
      await send(name, 'cus_a', 11, D0 + DAY + 30, `${name}-${i++}`); // day 1
      await send(name, 'cus_b', 100, D0 + 10, `${name}-${i++}`); // another customer
    }
    // pre-aggregated: in hour 0 three events, the last received (value 4, earliest timestamp) wins
    await send('pre_hour', 'cus_a', 10, D0 + 100, 'ph-1');
    await send('pre_hour', 'cus_a', 20, D0 + 3000, 'ph-2');
    await send('pre_hour', 'cus_a', 4, D0 + 50, 'ph-3');
    await send('pre_hour', 'cus_a', 6, D0 + HOUR + 1, 'ph-4');
    await send('pre_day_last', 'cus_a', 3, D0 + 100, 'pd-1');
    await send('pre_day_last', 'cus_a', 9, D0 + 200, 'pd-2');
    await send('pre_day_last', 'cus_a', 1, D0 + DAY + 5, 'pd-3');
  });
  afterAll(async () => {
    await h?.close();
  });

  const summaries = (meter: string, params: Record<string, string>) =>
    h.call('meters.event_summaries', { customer: 'cus_a', ...params }, { id: meters[meter]! });

  it('one summary for the whole range, per formula', async () => {
    const range = { start_time: String(D0), end_time: String(D0 + 2 * DAY) };
    const sum = await summaries('sum_m', range);
    expect(sum.data).toEqual([
      {
        id: expect.stringMatching(/^mtrusg_/),
        object: 'billing.meter_event_summary',
        aggregated_value: 25,
        start_time: D0,
        end_time: D0 + 2 * DAY,
        livemode: false,
        meter: meters.sum_m,
      },
    ]);
    expect((await summaries('count_m', range)).data[0].aggregated_value).toBe(4);
    expect((await summaries('last_m', range)).data[0].aggregated_value).toBe(11);
    expect((await summaries('pre_hour', range)).data[0].aggregated_value).toBe(10); // 4 (hour 0) + 6 (hour 1)
    expect((await summaries('pre_day_last', range)).data[0].aggregated_value).toBe(1);
  });

  it('hour and day grouping, newest first, with pagination', async () => {
    const hours = await summaries('sum_m', { start_time: String(D0), end_time: String(D0 + 3 * HOUR), value_grouping_window: 'hour' });
    expect(hours.data.map((s: any) => [s.start_time - D0, s.aggregated_value])).toEqual([
      [2 * HOUR, 0],
      [HOUR, 2],
      [0, 12],
    ]);
    const days = await summaries('last_m', {
      start_time: String(D0),
      end_time: String(D0 + 2 * DAY),
      value_grouping_window: 'day',
      limit: '1',
    });
    expect(days).toMatchObject({ has_more: true, data: [{ start_time: D0 + DAY, aggregated_value: 11 }] });
    const page2 = await summaries('last_m', {
      start_time: String(D0),
      end_time: String(D0 + 2 * DAY),
      value_grouping_window: 'day',
      limit: '1',
      starting_after: days.data[0].id,
    });
    expect(page2).toMatchObject({ has_more: false, data: [{ start_time: D0, aggregated_value: 2 }] });
    const preHours = await summaries('pre_hour', {
      start_time: String(D0),
      end_time: String(D0 + 2 * HOUR),
      value_grouping_window: 'hour',
    });
    expect(preHours.data.map((s: any) => s.aggregated_value)).toEqual([6, 4]);
  });

  it('refuses misaligned windows', async () => {
    expect(await errorOf(summaries('sum_m', { start_time: String(D0 + 1), end_time: String(D0 + 120) }))).toMatchObject({
      status: 400,
      param: 'start_time',
    });
    expect(
      await errorOf(summaries('sum_m', { start_time: String(D0 + 60), end_time: String(D0 + HOUR), value_grouping_window: 'hour' })),
    ).toMatchObject({ status: 400, param: 'start_time' });
    expect(
      await errorOf(summaries('sum_m', { start_time: String(D0), end_time: String(D0 + HOUR), value_grouping_window: 'day' })),
    ).toMatchObject({ status: 400, param: 'end_time' });
    expect(
      await errorOf(h.call('meters.event_summaries', { start_time: String(D0), end_time: String(D0 + 60) }, { id: meters.sum_m! })),
    ).toMatchObject({ param: 'customer' });
  });

  it('usage.query answers many (meter, customer, window) queries, exact at any second', async () => {
    const r = await h.svc.rpc.request<any>('meter-ingestion', 'usage.query', {
      queries: [
        { key: 'a', meter: meters.sum_m, customer: 'cus_a', start: D0, end: D0 + 2 * DAY },
        { key: 'b', meter: meters.sum_m, customer: 'cus_b', start: D0, end: D0 + 2 * DAY },
        { key: 'edge', meter: meters.sum_m, customer: 'cus_a', start: D0 + 11, end: D0 + 71 }, // only the 7 at +70
        { key: 'edge2', meter: meters.sum_m, customer: 'cus_a', start: D0 + 10, end: D0 + 70 }, // only the 5 at +10
        { key: 'last', meter: meters.last_m, customer: 'cus_a', start: D0, end: D0 + 71 },
        { key: 'count', meter: meters.count_m, customer: 'cus_a', start: D0 + 5, end: D0 + HOUR + 6 },
        { key: 'none', meter: meters.sum_m, customer: 'cus_zzz', start: D0, end: D0 + DAY },
        { key: 'pre', meter: meters.pre_hour, customer: 'cus_a', start: D0, end: D0 + HOUR },
      ],
    });
    expect(r.results).toEqual({
      // `events`: how many events the window holds (issue 8 item 10, invoice explanations)
      a: { value: '25', formula: 'sum', events: 4 },
      b: { value: '100', formula: 'sum', events: 1 },
      edge: { value: '7', formula: 'sum', events: 1 },
      edge2: { value: '5', formula: 'sum', events: 1 },
      last: { value: '7', formula: 'last', events: 2 },
      count: { value: '3', formula: 'count', events: 3 },
      none: { value: '0', formula: 'sum', events: 0 },
      pre: { value: '4', formula: 'sum', events: 1 },
    });
    expect(
      await errorOf(
        h.svc.rpc.request('meter-ingestion', 'usage.query', {
          queries: [{ key: 'x', meter: 'mtr_nope', customer: 'c', start: 0, end: 1 }],
        }),
      ),
    ).toMatchObject({ status: 404 });
  });

  it('cancel adjustments take events out of every summary, exactly (sum, last, pre-aggregated)', async () => {
    const range = { start_time: String(D0), end_time: String(D0 + 2 * DAY) };
    const adj = await h.call('meter_event_adjustments.create', { event_name: 'sum_m', type: 'cancel', cancel: { identifier: 'sum_m-1' } });
    expect(adj).toEqual({
      object: 'billing.meter_event_adjustment',
      cancel: { identifier: 'sum_m-1' },
      event_name: 'sum_m',
      livemode: false,
      status: 'complete',
      type: 'cancel',
    });
    expect((await summaries('sum_m', range)).data[0].aggregated_value).toBe(18);
    // cancelling the last event: the previous one becomes last
    await h.call('meter_event_adjustments.create', { event_name: 'last_m', type: 'cancel', cancel: { identifier: 'last_m-13' } });
    expect((await summaries('last_m', range)).data[0].aggregated_value).toBe(2);
    // edge minute reads the log: the cancelled event is gone there too
    const r = await h.svc.rpc.request<any>('meter-ingestion', 'usage.query', {
      queries: [{ key: 'e', meter: meters.sum_m, customer: 'cus_a', start: D0 + 11, end: D0 + 71 }],
    });
    expect(r.results.e.value).toBe('0');
    // v2, on a pre-aggregated meter: the surviving event of hour 0 is cancelled, the one received before it takes over
    const v2 = await h.call('v2.meter_event_adjustments.create', {
      event_name: 'pre_hour',
      type: 'cancel',
      cancel: { identifier: 'ph-3' },
    });
    expect(v2).toMatchObject({
      object: 'v2.billing.meter_event_adjustment',
      status: 'complete',
      type: 'cancel',
      cancel: { identifier: 'ph-3' },
    });
    expect(v2.id).toMatch(/^mtr_event_adj_/);
    expect((await summaries('pre_hour', range)).data[0].aggregated_value).toBe(26); // 20 + 6
    // errors
    expect(
      await errorOf(
        h.call('meter_event_adjustments.create', { event_name: 'sum_m', type: 'cancel', cancel: { identifier: 'never-sent' } }),
      ),
    ).toMatchObject({ status: 400 });
    expect(
      await errorOf(h.call('meter_event_adjustments.create', { event_name: 'count_m', type: 'cancel', cancel: { identifier: 'sum_m-2' } })),
    ).toMatchObject({ status: 400 });
    expect(
      await errorOf(h.call('meter_event_adjustments.create', { event_name: 'sum_m', type: 'void', cancel: { identifier: 'sum_m-2' } })),
    ).toMatchObject({ param: 'type' });
  });
});

describe('rebuild (int)', () => {
  it('re-folding the log and replaying the event store gives the live read models back', async () => {
    const h = await startIngestion();
    try {
      const now = Math.floor(Date.now() / 1000);
      const raw = await h.call('meters.create', { display_name: 'r', event_name: 'r_sum', default_aggregation: { formula: 'last' } });
      const pre = await h.call('meters.create', {
        display_name: 'p',
        event_name: 'r_pre',
        default_aggregation: { formula: 'sum' },
        event_time_window: 'day',
      });
      await h.call('meters.deactivate', {}, { id: pre.id });
      await h.call('meters.reactivate', {}, { id: pre.id });
      await h.call('alerts.create', {
        alert_type: 'usage_threshold',
        title: 'a',
        usage_threshold: { gte: '5', meter: raw.id, recurrence: 'one_time' },
      });
      for (let i = 0; i < 30; i++) {
        await h.call('meter_events.create', {
          event_name: i % 2 ? 'r_sum' : 'r_pre',
          payload: { stripe_customer_id: `c${i % 3}`, value: String(i) },
          timestamp: String(now - i * 700),
          identifier: `rb-${i}`,
        });
      }
      await h.call('meter_event_adjustments.create', { event_name: 'r_sum', type: 'cancel', cancel: { identifier: 'rb-1' } });
      await h.call('meter_event_adjustments.create', { event_name: 'r_pre', type: 'cancel', cancel: { identifier: 'rb-0' } });
      const pg = (await import('pg')).default;
      const pool = new pg.Pool({ connectionString: h.db.url, options: '-c search_path=ingestion' });
      const { PgEventStore } = await import('@meterflow/event-store');
      const { rebuildReadModels } = await import('../src/adapters/projections/rebuild.projection.js');
      const snapshot = async () => {
        const q = async (sql: string) => (await pool.query(sql)).rows;
        return {
          meters: await q('SELECT id, event_name, status, body, version FROM meters ORDER BY id'),
          alerts: await q('SELECT id, status, body, version FROM alerts ORDER BY id'),
          rollups: await q('SELECT * FROM usage_rollups ORDER BY meter_id, customer, bucket'),
          buckets: await q('SELECT * FROM usage_buckets ORDER BY meter_id, customer, bucket'),
        };
      };
      const live = await snapshot();
      expect(live.rollups.length).toBeGreaterThan(5);
      expect(live.buckets.length).toBeGreaterThan(1);
      const counts = await rebuildReadModels(new PgEventStore(pool, 'ingestion'), pool);
      expect(counts).toMatchObject({ meters: 2, alerts: 1 });
      expect(await snapshot()).toEqual(live);
      await pool.end();
    } finally {
      await h.close();
    }
  });
});
