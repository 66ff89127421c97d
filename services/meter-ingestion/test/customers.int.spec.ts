import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { errorOf, startIngestion, type Harness } from './harness.js';

/**
 * Customers and test clocks come from rating (`customers.retrieve`, `test_clocks.retrieve`).
 * Rating is stood in for by a responder on the real NATS server answering those two ops.
 */
describe('customers and test clocks (int)', () => {
  let h: Harness;
  const frozen = Math.floor(Date.now() / 1000) - 50 * 86400;
  const customers: Record<string, { test_clock: string | null }> = { cus_real: { test_clock: null }, cus_clock: { test_clock: 'clock_1' } };
  let retrieves = 0;

  const respond = (nc: NatsConnection, subject: string, fn: (req: any) => unknown) =>
    nc.subscribe(subject, {
      callback: (_e, m) => {
        try {
          m.respond(JSON.stringify({ ok: true, result: fn(m.json()) }));
        } catch (e: any) {
          m.respond(
            JSON.stringify({
              ok: false,
              error: { type: 'invalid_request_error', code: 'resource_missing', message: e.message, status: 404 },
            }),
          );
        }
      },
    });

  beforeAll(async () => {
    h = await startIngestion({ INGEST_CUSTOMER_LOOKUP: 'rating' });
    respond(h.svc.nc, h.svc.names.rpcSubject('rating', 'customers.retrieve'), (req) => {
      retrieves++;
      const c = customers[req.path.id];
      if (!c) throw new Error(`No such customer: '${req.path.id}'`);
      return { id: req.path.id, object: 'customer', ...c };
    });
    respond(h.svc.nc, h.svc.names.rpcSubject('rating', 'test_clocks.retrieve'), (req) => ({
      id: req.path.id,
      object: 'test_helpers.test_clock',
      frozen_time: frozen,
    }));
    await h.call('meters.create', { display_name: 'Calls', event_name: 'calls', default_aggregation: { formula: 'sum' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses events for unknown customers, and caches known ones', async () => {
    await h.call('meter_events.create', { event_name: 'calls', payload: { stripe_customer_id: 'cus_real', value: '1' } });
    await h.call('meter_events.create', { event_name: 'calls', payload: { stripe_customer_id: 'cus_real', value: '1' } });
    expect(retrieves).toBe(1);
    const e = await errorOf(
      h.call('meter_events.create', { event_name: 'calls', payload: { stripe_customer_id: 'cus_ghost', value: '1' } }),
    );
    expect(e).toMatchObject({ status: 400, code: 'meter_event_customer_not_found' });
  });

  it("uses the customer's test clock time as now: default timestamp and the 35 days / 5 minutes bounds", async () => {
    const ev = await h.call('meter_events.create', { event_name: 'calls', payload: { stripe_customer_id: 'cus_clock', value: '1' } });
    expect(ev.timestamp).toBe(frozen);
    const ok = await h.call('meter_events.create', {
      event_name: 'calls',
      payload: { stripe_customer_id: 'cus_clock', value: '1' },
      timestamp: String(frozen - 30 * 86400),
    });
    expect(ok.timestamp).toBe(frozen - 30 * 86400);
    const future = await errorOf(
      h.call('meter_events.create', {
        event_name: 'calls',
        payload: { stripe_customer_id: 'cus_clock', value: '1' },
        timestamp: String(frozen + 3600),
      }),
    );
    expect(future).toMatchObject({ code: 'timestamp_in_future' });
  });
});
