import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import pg from 'pg';
import { eventually } from '@meterflow/testing';
import { errorOf, startIngestion, type Harness } from './harness.js';

const minute = (t: number) => t - (t % 60);

describe('meter event ingestion (int)', () => {
  let h: Harness;
  let db: pg.Pool;
  let meterId: string;
  const now = Math.floor(Date.now() / 1000);
  const start = minute(now) - 3600;
  const end = minute(now) + 600;
  const total = async (customer: string, id = meterId) => {
    const r = await h.call('meters.event_summaries', { customer, start_time: String(start), end_time: String(end) }, { id });
    return r.data[0].aggregated_value as number;
  };

  beforeAll(async () => {
    h = await startIngestion();
    db = new pg.Pool({ connectionString: h.db.url, options: '-c search_path=ingestion' });
    const m = await h.call('meters.create', { display_name: 'Calls', event_name: 'calls', default_aggregation: { formula: 'sum' } });
    meterId = m.id;
  });
  afterAll(async () => {
    await db?.end();
    await h?.close();
  });

  it('v1: accepts an event, returns billing.meter_event, refuses a duplicate identifier and counts it once', async () => {
    const ev = await h.call('meter_events.create', {
      event_name: 'calls',
      payload: { stripe_customer_id: 'cus_v1', value: '7' },
      identifier: 'v1-a',
      timestamp: String(now - 30),
    });
    expect(ev).toEqual({
      object: 'billing.meter_event',
      created: expect.any(Number),
      event_name: 'calls',
      identifier: 'v1-a',
      livemode: false,
      payload: { stripe_customer_id: 'cus_v1', value: '7' },
      timestamp: now - 30,
    });
    const dup = await errorOf(
      h.call('meter_events.create', { event_name: 'calls', payload: { stripe_customer_id: 'cus_v1', value: '7' }, identifier: 'v1-a' }),
    );
    expect(dup).toMatchObject({ status: 400, type: 'invalid_request_error', message: 'An event already exists with identifier v1-a.' });
    const gen = await h.call('meter_events.create', { event_name: 'calls', payload: { stripe_customer_id: 'cus_v1', value: '-2' } });
    expect(gen.identifier).toMatch(/^mfe_/);
    expect(gen.timestamp).toBeGreaterThanOrEqual(now);
    expect(await total('cus_v1')).toBe(5);
  });

  it('v1: rejects bad inputs with the right Stripe errors', async () => {
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ payload: { stripe_customer_id: 'c', value: '1' } }, { code: 'parameter_missing', param: 'event_name' }],
      [{ event_name: 'calls' }, { code: 'parameter_missing', param: 'payload' }],
      [
        { event_name: 'nope', payload: { stripe_customer_id: 'c', value: '1' } },
        { code: 'no_meter', param: 'event_name' },
      ],
      [{ event_name: 'calls', payload: { value: '1' } }, { code: 'meter_event_no_customer_defined' }],
      [
        { event_name: 'calls', payload: { stripe_customer_id: 'c', value: '1.5' } },
        { code: 'meter_event_invalid_value', param: 'payload[value]' },
      ],
      [{ event_name: 'calls', payload: { stripe_customer_id: 'c' } }, { code: 'meter_event_invalid_value' }],
      [
        { event_name: 'calls', payload: { stripe_customer_id: 'c', value: '1' }, timestamp: String(now - 36 * 86400) },
        { code: 'timestamp_too_far_in_past', param: 'timestamp' },
      ],
      [
        { event_name: 'calls', payload: { stripe_customer_id: 'c', value: '1' }, timestamp: String(now + 600) },
        { code: 'timestamp_in_future', param: 'timestamp' },
      ],
      [{ event_name: 'calls', payload: { stripe_customer_id: 'c', value: '1' }, identifier: 'x'.repeat(101) }, { param: 'identifier' }],
      [
        { event_name: 'calls', payload: { stripe_customer_id: 'c', value: '1' }, extra: '1' },
        { code: 'parameter_unknown', param: 'extra' },
      ],
    ];
    for (const [params, expected] of cases) {
      const e = await errorOf(h.call('meter_events.create', params));
      expect(e, JSON.stringify(params)).toMatchObject({ status: 400, ...expected });
    }
    expect(await total('c')).toBe(0);
  });

  it('v2 meter_events: RFC 3339 in and out', async () => {
    const ts = new Date((now - 60) * 1000).toISOString();
    const ev = await h.call('v2.meter_events.create', {
      event_name: 'calls',
      payload: { stripe_customer_id: 'cus_v2', value: '3' },
      identifier: 'v2-a',
      timestamp: ts,
    });
    expect(ev).toMatchObject({ object: 'v2.billing.meter_event', identifier: 'v2-a', timestamp: ts, livemode: false });
    expect(ev.created).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    const dup = await errorOf(
      h.call('v2.meter_events.create', { event_name: 'calls', payload: { stripe_customer_id: 'cus_v2', value: '3' }, identifier: 'v2-a' }),
    );
    expect(dup.status).toBe(400);
    expect(await total('cus_v2')).toBe(3);
  });

  it('v2 session + stream: validated asynchronously; expired or unknown tokens get 401', async () => {
    const s = await h.call('v2.meter_event_session.create');
    expect(s).toMatchObject({ object: 'v2.billing.meter_event_session', livemode: false });
    expect(Date.parse(s.expires_at) - Date.parse(s.created)).toBe(15 * 60 * 1000);
    const events = Array.from({ length: 100 }, (_, i) => ({
      event_name: 'calls',
      payload: { stripe_customer_id: 'cus_stream', value: '2' },
      identifier: `st-${i}`,
    }));
    expect(await h.call('v2.meter_event_stream.create', { events }, {}, { sessionToken: s.authentication_token })).toEqual({});
    // the same batch again (a client retry): counted once
    await h.call('v2.meter_event_stream.create', { events }, {}, { sessionToken: s.authentication_token });
    await eventually(async () => ((await total('cus_stream')) === 200 ? true : undefined));

    const unknown = await errorOf(h.call('v2.meter_event_stream.create', { events }, {}, { sessionToken: 'nope' }));
    expect(unknown).toMatchObject({ status: 401, code: 'billing_meter_event_session_expired' });
    // a session issued 16 minutes ago (as another replica would have stored it)
    await db.query('INSERT INTO meter_event_sessions (id, token, created, expires_at) VALUES ($1, $2, $3, $4)', [
      'mtr_session_old',
      'tok_old',
      now - 960,
      now - 60,
    ]);
    const expired = await errorOf(h.call('v2.meter_event_stream.create', { events }, {}, { sessionToken: 'tok_old' }));
    expect(expired).toMatchObject({ status: 401, code: 'billing_meter_event_session_expired' });
    const tooMany = await errorOf(
      h.call(
        'v2.meter_event_stream.create',
        { events: [...events, events[0]] },
        {},
        { sessionToken: (await h.call('v2.meter_event_session.create')).authentication_token },
      ),
    );
    expect(tooMany).toMatchObject({ status: 400, param: 'events' });
  });

  it('NATS: batches are stored, duplicates across batches and paths count once, invalid events become dead letters and error reports', async () => {
    const js = jetstream(h.svc.nc);
    const reports: any[] = [];
    const sub = h.svc.nc.subscribe(h.svc.names.eventSubject('v1.billing.meter.>'), { callback: (_e, m) => void reports.push(m.json()) });
    const batch = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        event_name: 'calls',
        payload: { stripe_customer_id: 'cus_nats', value: '1' },
        identifier: `n-${from + i}`,
      }));
    await js.publish(h.svc.names.ingestSubject(), JSON.stringify({ events: batch(0, 100) }));
    await js.publish(h.svc.names.ingestSubject('p1'), JSON.stringify({ events: batch(50, 100) })); // 50 overlap
    // same identifier as a v1 event: a duplicate across paths
    await js.publish(
      h.svc.names.ingestSubject(),
      JSON.stringify({ events: [{ event_name: 'calls', payload: { stripe_customer_id: 'cus_v1', value: '100' }, identifier: 'v1-a' }] }),
    );
    // no identifier: generated from the message, counted once
    await js.publish(
      h.svc.names.ingestSubject(),
      JSON.stringify({ events: [{ event_name: 'calls', payload: { stripe_customer_id: 'cus_nats', value: '1000' } }] }),
    );
    await js.publish(
      h.svc.names.ingestSubject(),
      JSON.stringify({
        events: [
          { event_name: 'calls', payload: { stripe_customer_id: 'cus_nats', value: 'abc' }, identifier: 'bad-value' },
          { event_name: 'calls', payload: { value: '1' }, identifier: 'no-customer' },
          {
            event_name: 'calls',
            payload: { stripe_customer_id: 'cus_nats', value: '1' },
            identifier: 'too-old',
            timestamp: new Date((now - 40 * 86400) * 1000).toISOString(),
          },
          { event_name: 'ghost', payload: { stripe_customer_id: 'cus_nats', value: '1' }, identifier: 'no-meter' },
        ],
      }),
    );
    await js.publish(h.svc.names.ingestSubject(), 'not json');
    // a single event, published bare
    await js.publish(
      h.svc.names.ingestSubject('single'),
      JSON.stringify({ event_name: 'calls', payload: { stripe_customer_id: 'cus_nats', value: '50' }, identifier: 'single-1' }),
    );

    await eventually(async () => ((await total('cus_nats')) === 1200 ? true : undefined), 15_000);
    expect(await total('cus_v1')).toBe(5);

    const dl = await eventually(async () => {
      const { rows } = await db.query<{ reason: string; data: string }>('SELECT reason, data FROM dead_letters ORDER BY id');
      return rows.length >= 5 ? rows : undefined;
    });
    const reasons = dl.map((r) => r.reason.split(':')[0]);
    expect(reasons).toEqual(
      expect.arrayContaining([
        'meter_event_invalid_value',
        'meter_event_no_customer_defined',
        'timestamp_too_far_in_past',
        'no_meter',
        'invalid_json',
      ]),
    );
    // ... and counted on /metrics by reason class, beside the ingest consumer's lag.
    const metrics = () => fetch(`${h.svc.url}/metrics`).then((r) => r.text());
    const counted = (text: string, reason: string) =>
      Number(
        new RegExp(`^meterflow_dead_letters_total\\{service="meter-ingestion",reason="${reason}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0,
      );
    await eventually(async () => (counted(await metrics(), 'no_meter') >= 1 ? true : undefined));
    const text = await metrics();
    for (const reason of ['invalid_json', 'meter_event_invalid_value', 'meter_event_no_customer_defined', 'timestamp_too_far_in_past'])
      expect(counted(text, reason), reason).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^meterflow_consumer_pending_messages\{service="meter-ingestion",stream="[^"]+",consumer="[^"]+"\} \d+$/m);

    await eventually(async () => (reports.length >= 2 ? true : undefined), 15_000);
    sub.unsubscribe();
    const triggered = reports.find((r) => r.type === 'v1.billing.meter.error_report_triggered');
    expect(triggered.id).toMatch(/^evt_/);
    const obj = triggered.data.object;
    expect(obj.related_object).toMatchObject({ id: meterId, type: 'billing.meter' });
    expect(obj.reason.error_count).toBe(3);
    const codes = Object.fromEntries(
      obj.reason.error_types.map((t: any) => [t.code, t.sample_errors.map((s: any) => s.request.identifier)]),
    );
    expect(codes).toEqual({
      meter_event_invalid_value: ['bad-value'],
      meter_event_no_customer_defined: ['no-customer'],
      timestamp_too_far_in_past: ['too-old'],
    });
    const noMeter = reports.find((r) => r.type === 'v1.billing.meter.no_meter_found');
    expect(noMeter.data.object.reason.error_types[0]).toMatchObject({
      code: 'no_meter',
      error_count: 1,
      sample_errors: [{ request: { identifier: 'no-meter' } }],
    });
  });

  it('NATS: NUL and unpaired surrogates are dead letters with the reason, never a stalled consumer; integer timestamps are accepted', async () => {
    const js = jetstream(h.svc.nc);
    const ok = (i: number, extra: Record<string, unknown> = {}) => ({
      event_name: 'calls',
      payload: { stripe_customer_id: 'cus_nul', value: '1' },
      identifier: `nul-ok-${i}`,
      ...extra,
    });
    // 200 poisoned messages (more than a batch), each beside a valid event, then valid ones.
    for (let i = 0; i < 200; i++) {
      const poison =
        i % 3 === 0
          ? { event_name: 'calls', payload: { stripe_customer_id: 'cus_\u0000x', value: '1' }, identifier: `nul-${i}` }
          : i % 3 === 1
            ? { event_name: 'ca\u0000lls', payload: { stripe_customer_id: 'cus_nul', value: '1' }, identifier: `nul-${i}\u0000` }
            : { event_name: 'calls', payload: { stripe_customer_id: 'cus_nul', value: '1', ['k\ud800']: 'v' }, identifier: `nul-${i}` };
      await js.publish(h.svc.names.ingestSubject(), JSON.stringify({ events: [poison, ok(i)] }));
    }
    await js.publish(h.svc.names.ingestSubject(), 'raw \u0000 bytes, not json');
    await js.publish(
      h.svc.names.ingestSubject(),
      JSON.stringify({ events: [ok(1000, { timestamp: now - 60 }), ok(1001, { timestamp: String(now - 60) })] }),
    );
    await js.publish(h.svc.names.ingestSubject(), JSON.stringify({ events: [ok(1002, { timestamp: now + 3600 })] }));
    await eventually(async () => ((await total('cus_nul')) === 202 ? true : undefined), 20_000);
    const rows = await eventually(async () => {
      const r = await db.query<{ reason: string; data: string }>(
        `SELECT reason, data FROM dead_letters WHERE data LIKE '%nul-%' OR data LIKE 'raw%'`,
      );
      return r.rows.length >= 202 ? r.rows : undefined;
    }, 20_000);
    expect(
      rows.filter((r) => r.reason.startsWith('meter_event_invalid_value: Invalid payload[stripe_customer_id]: text may not contain NUL')),
    ).toHaveLength(67);
    expect(rows.filter((r) => r.reason.startsWith('meter_event_invalid_value: Invalid event_name'))).toHaveLength(67);
    expect(rows.filter((r) => r.reason.startsWith('meter_event_invalid_value: Invalid payload[k\ufffd]'))).toHaveLength(66);
    expect(rows.filter((r) => r.reason.startsWith('timestamp_in_future'))).toHaveLength(1);
    expect(rows.filter((r) => r.reason.startsWith('invalid_json'))).toHaveLength(1);
  });
});
