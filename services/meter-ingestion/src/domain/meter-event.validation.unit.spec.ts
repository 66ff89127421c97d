import { describe, expect, it } from 'vitest';
import type { Meter } from './meter.types.js';
import { decodeMeterEvent, validateMeterEvent, type MeterEventInput, type ValidationContext } from './meter-event.validation.js';

const NOW = 1_800_000_000;
const meter = (over: Partial<Meter> = {}): Meter => ({
  id: 'mtr_1',
  displayName: 'Calls',
  eventName: 'calls',
  formula: 'sum',
  customerPayloadKey: 'stripe_customer_id',
  valuePayloadKey: 'value',
  eventTimeWindow: null,
  status: 'active',
  created: NOW,
  updated: NOW,
  deactivatedAt: null,
  ...over,
});
const ctx = (m: Meter | undefined = meter(), over: Partial<ValidationContext> = {}): ValidationContext => ({
  meterFor: (n) => (m && m.eventName === n ? m : undefined),
  nowFor: () => NOW,
  customerExists: () => true,
  newIdentifier: () => 'generated',
  ...over,
});
const event = (over: Partial<MeterEventInput> = {}): MeterEventInput => ({
  eventName: 'calls',
  payload: { stripe_customer_id: 'cus_1', value: '5' },
  ...over,
});
const codeOf = (input: MeterEventInput, c = ctx()) => {
  const r = validateMeterEvent(input, c);
  return r.ok ? 'ok' : r.rejection.code;
};

describe('validateMeterEvent', () => {
  it('given a valid event, when validated, then it is accepted with the meter, customer, value and defaults', () => {
    const r = validateMeterEvent(event(), ctx());
    expect(r).toEqual({
      ok: true,
      event: {
        meterId: 'mtr_1',
        eventName: 'calls',
        customer: 'cus_1',
        value: 5n,
        timestamp: NOW,
        identifier: 'generated',
        payload: { stripe_customer_id: 'cus_1', value: '5' },
      },
    });
  });

  it('given negative whole numbers, then they are accepted (corrections)', () => {
    expect(codeOf(event({ payload: { stripe_customer_id: 'c', value: '-12' } }))).toBe('ok');
  });

  it('given decimals, text or missing values, then meter_event_invalid_value', () => {
    for (const value of ['1.5', 'abc', '', '1e3'])
      expect(codeOf(event({ payload: { stripe_customer_id: 'c', value } }))).toBe('meter_event_invalid_value');
    expect(codeOf(event({ payload: { stripe_customer_id: 'c' } }))).toBe('meter_event_invalid_value');
  });

  it('given more than 15 digits, then meter_event_value_too_many_digits', () => {
    expect(codeOf(event({ payload: { stripe_customer_id: 'c', value: '1234567890123456' } }))).toBe('meter_event_value_too_many_digits');
    expect(codeOf(event({ payload: { stripe_customer_id: 'c', value: '-123456789012345' } }))).toBe('ok');
  });

  it('given a count meter, then the value is not required and counts 1', () => {
    const r = validateMeterEvent(event({ payload: { stripe_customer_id: 'c' } }), ctx(meter({ formula: 'count' })));
    expect(r.ok && r.event.value).toBe(1n);
  });

  it('given a custom mapping, then the mapped keys are read', () => {
    const m = meter({ customerPayloadKey: 'cust', valuePayloadKey: 'n' });
    expect(codeOf(event({ payload: { cust: 'c', n: '2' } }), ctx(m))).toBe('ok');
    expect(codeOf(event({ payload: { stripe_customer_id: 'c', n: '2' } }), ctx(m))).toBe('meter_event_no_customer_defined');
  });

  it('given no meter or an inactive one, then no_meter / archived_meter', () => {
    expect(codeOf(event({ eventName: 'other' }))).toBe('no_meter');
    expect(codeOf(event(), ctx(meter({ status: 'inactive' })))).toBe('archived_meter');
  });

  it('given an unknown customer, then meter_event_customer_not_found', () => {
    expect(codeOf(event(), ctx(meter(), { customerExists: () => false }))).toBe('meter_event_customer_not_found');
  });

  it('given timestamps at the edges of 35 days back and 5 minutes ahead, then only those inside pass', () => {
    expect(codeOf(event({ timestamp: NOW - 35 * 86400 }))).toBe('ok');
    expect(codeOf(event({ timestamp: NOW - 35 * 86400 - 1 }))).toBe('timestamp_too_far_in_past');
    expect(codeOf(event({ timestamp: NOW + 300 }))).toBe('ok');
    expect(codeOf(event({ timestamp: NOW + 301 }))).toBe('timestamp_in_future');
  });

  it("given a customer on a test clock, then its clock's time is now (default and bounds)", () => {
    const frozen = NOW - 100 * 86400;
    const c = ctx(meter(), { nowFor: (cu) => (cu === 'cus_clock' ? frozen : NOW) });
    const r = validateMeterEvent(event({ payload: { stripe_customer_id: 'cus_clock', value: '1' } }), c);
    expect(r.ok && r.event.timestamp).toBe(frozen);
    expect(codeOf(event({ payload: { stripe_customer_id: 'cus_clock', value: '1' }, timestamp: NOW }), c)).toBe('timestamp_in_future');
  });

  it('given identifiers, then they are kept up to 100 characters', () => {
    const r = validateMeterEvent(event({ identifier: 'abc' }), ctx());
    expect(r.ok && r.event.identifier).toBe('abc');
    expect(codeOf(event({ identifier: 'x'.repeat(100) }))).toBe('ok');
    expect(codeOf(event({ identifier: 'x'.repeat(101) }))).toBe('parameter_invalid');
  });

  it('given a rejection, then it carries the identifier (generated when absent) for error report samples', () => {
    const r = validateMeterEvent(event({ eventName: 'nope' }), ctx());
    expect(!r.ok && r.rejection).toMatchObject({ identifier: 'generated', reportCode: 'no_meter', meterId: null, eventName: 'nope' });
  });
});

describe('decodeMeterEvent', () => {
  it('reads v1 unix seconds and v2 RFC 3339', () => {
    expect(decodeMeterEvent({ event_name: 'a', payload: { v: '1' }, timestamp: '1800000000' }, 'v1')).toEqual({
      ok: true,
      input: { eventName: 'a', payload: { v: '1' }, timestamp: 1_800_000_000 },
    });
    const v2 = decodeMeterEvent({ event_name: 'a', payload: { v: '1' }, timestamp: '2027-01-15T08:00:00.000Z', identifier: 'i' }, 'v2');
    expect(v2).toEqual({
      ok: true,
      input: { eventName: 'a', payload: { v: '1' }, identifier: 'i', timestamp: Date.UTC(2027, 0, 15, 8) / 1000 },
    });
  });
  it('refuses malformed input with the parameter named', () => {
    expect(decodeMeterEvent({ payload: {} }, 'v1')).toMatchObject({ ok: false, param: 'event_name' });
    expect(decodeMeterEvent({ event_name: 'a' }, 'v1')).toMatchObject({ ok: false, param: 'payload' });
    expect(decodeMeterEvent({ event_name: 'a', payload: { v: {} } }, 'v2')).toMatchObject({ ok: false, param: 'payload[v]' });
    expect(decodeMeterEvent({ event_name: 'a', payload: {}, timestamp: 'yesterday' }, 'v1')).toMatchObject({
      ok: false,
      param: 'timestamp',
    });
    expect(decodeMeterEvent({ event_name: 'a', payload: {}, timestamp: 'yesterday' }, 'v2')).toMatchObject({
      ok: false,
      param: 'timestamp',
    });
  });
});

describe('decodeMeterEvent: text Postgres cannot store, producers timestamps', () => {
  it('refuses NUL and unpaired surrogates, naming the field, as meter_event_invalid_value', () => {
    expect(decodeMeterEvent({ event_name: 'a', payload: { c: 'x\u0000' } }, 'ingest')).toMatchObject({
      ok: false,
      param: 'payload[c]',
      reportCode: 'meter_event_invalid_value',
    });
    expect(decodeMeterEvent({ event_name: 'a', payload: {}, identifier: 'i\ud800' }, 'ingest')).toMatchObject({
      ok: false,
      param: 'identifier',
      identifier: null,
    });
  });

  it('ingest accepts RFC 3339 and integer unix seconds (number or digits)', () => {
    const at = (timestamp: unknown) => decodeMeterEvent({ event_name: 'a', payload: {}, timestamp }, 'ingest');
    expect(at(1800000000)).toMatchObject({ ok: true, input: { timestamp: 1800000000 } });
    expect(at('1800000000')).toMatchObject({ ok: true, input: { timestamp: 1800000000 } });
    expect(at('2027-01-15T08:00:00Z')).toMatchObject({ ok: true, input: { timestamp: 1800000000 } });
    expect(at(1.5)).toMatchObject({ ok: false, param: 'timestamp' });
    expect(at('soon')).toMatchObject({ ok: false, param: 'timestamp' });
    // v2 over HTTP stays strict, as Stripe
    expect(decodeMeterEvent({ event_name: 'a', payload: {}, timestamp: 1800000000 }, 'v2')).toMatchObject({ ok: false });
  });
});
