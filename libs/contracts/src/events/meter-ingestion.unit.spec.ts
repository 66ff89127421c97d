import { describe, expect, it } from 'vitest';
import { eventContractViolation, stripeEvent, StripeEventAnnounced } from './core.js';
import {
  AlertCreated,
  AlertStatusChanged,
  AlertTriggered,
  METER_INGESTION_EVENTS,
  MeterCreated,
  MeterDeactivated,
  MeterEventCancelled,
  MeterReactivated,
  MeterUpdated,
} from './meter-ingestion.js';

// Shaped like the meter and alert deciders' output and the facts the services append directly
// (cancellations, alert triggers, error reports); the deciders' own output is checked in
// services/meter-ingestion.
const meter = {
  id: 'mtr_1',
  displayName: 'Calls',
  eventName: 'calls',
  formula: 'sum' as const,
  customerPayloadKey: 'stripe_customer_id',
  valuePayloadKey: 'value',
  eventTimeWindow: null,
  at: 100,
};
const cancelled = {
  adjustmentId: 'mtradj_1',
  identifier: 'e-1',
  meterId: 'mtr_1',
  customer: 'cus_1',
  value: '2.5',
  timestamp: 90,
  at: 100,
};

const check = (e: { type: string; data: unknown }) => eventContractViolation(METER_INGESTION_EVENTS, e.type, e.data);

describe('METER_INGESTION_EVENTS', () => {
  it('accepts every event the service appends', () => {
    const events = [
      MeterCreated(meter),
      MeterCreated({ ...meter, id: 'mtr_2', formula: 'last', eventTimeWindow: 'hour' }),
      MeterUpdated({ displayName: 'API calls', at: 110 }),
      MeterDeactivated({ at: 120 }),
      MeterReactivated({ at: 130 }),
      MeterEventCancelled(cancelled),
      AlertCreated({ id: 'alrt_1', title: 'Over 10', meterId: 'mtr_1', gte: 10, customer: null, at: 100 }),
      AlertStatusChanged({ status: 'archived', at: 110 }),
      AlertTriggered({ customer: 'cus_1', value: '12', at: 120 }),
      stripeEvent('evt_1', 'v1.billing.meter.error_report_triggered', { object: 'billing.meter_event_summary' }, 100),
      StripeEventAnnounced({ id: 'evt_2', type: 'billing.meter.updated', created: 100, request: { id: null, idempotency_key: null } }),
    ];
    for (const e of events) expect(check(e), e.type).toBeNull();
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(METER_INGESTION_EVENTS.keys()));
  });

  it('rejects malformed events and unknown types', () => {
    expect(check({ type: 'MeterCreated', data: { ...meter, formula: 'avg' } })).toMatch(/^formula: /);
    expect(check({ type: 'MeterCreated', data: { ...meter, eventTimeWindow: 'week' } })).toMatch(/^eventTimeWindow: /);
    expect(check({ type: 'MeterEventCancelled', data: { ...cancelled, value: 2.5 } })).toMatch(/^value: /);
    expect(check({ type: 'AlertCreated', data: { id: 'alrt_1', title: 't', meterId: 'mtr_1', gte: 0, customer: null, at: 1 } })).toMatch(
      /^gte: /,
    );
    expect(check({ type: 'AlertTriggered', data: { customer: 'cus_1', value: 12n, at: 1 } })).toMatch(/^value: /);
    expect(check({ type: 'StripeEventEmitted', data: { id: 'not-an-evt' } })).toMatch(/^id: /);
    // accepted meter events are not event-store facts
    expect(check({ type: 'MeterEventReceived', data: {} })).toBe("unknown event type 'MeterEventReceived'");
  });
});
