import { describe, expect, it } from 'vitest';
import { METER_INGESTION_EVENTS, eventContractViolation } from '@meterflow/contracts';
import { decideMeter, evolveMeter, type MeterCommand, type MeterState } from './meter.decider.js';

const create: MeterCommand = {
  type: 'CreateMeter',
  id: 'mtr_1',
  displayName: 'Calls',
  eventName: 'calls',
  formula: 'sum',
  customerPayloadKey: 'stripe_customer_id',
  valuePayloadKey: 'value',
  eventTimeWindow: null,
  at: 100,
};
const given = (...cmds: MeterCommand[]): MeterState => cmds.reduce<MeterState>((s, c) => decideMeter(c, s).reduce(evolveMeter, s), null);

describe('meter decider', () => {
  it('given nothing, when created, then an active meter', () => {
    expect(given(create)).toMatchObject({ id: 'mtr_1', status: 'active', created: 100, updated: 100, deactivatedAt: null });
  });
  it('given a meter, when deactivated then reactivated, then status and transitions follow', () => {
    const off = given(create, { type: 'DeactivateMeter', at: 200 });
    expect(off).toMatchObject({ status: 'inactive', deactivatedAt: 200, updated: 200 });
    expect(given(create, { type: 'DeactivateMeter', at: 200 }, { type: 'ReactivateMeter', at: 300 })).toMatchObject({
      status: 'active',
      deactivatedAt: null,
    });
  });
  it('given an inactive meter, when deactivated again, then nothing happens', () => {
    expect(decideMeter({ type: 'DeactivateMeter', at: 300 }, given(create, { type: 'DeactivateMeter', at: 200 }))).toEqual([]);
  });
  it('given a meter, when only display_name is updated, then only it changes', () => {
    expect(given(create, { type: 'UpdateMeter', displayName: 'API', at: 150 })).toMatchObject({
      displayName: 'API',
      eventName: 'calls',
      updated: 150,
    });
  });
  it('given no meter, when updated, then not found; given a meter, when created again, then refused', () => {
    expect(() => decideMeter({ type: 'UpdateMeter', at: 1 }, null)).toThrow();
    expect(() => decideMeter(create, given(create))).toThrow();
  });
});

describe('the event contract (METER_INGESTION_EVENTS)', () => {
  it('accepts everything the meter decider emits', () => {
    const cmds: MeterCommand[] = [
      { ...create, eventTimeWindow: 'day', formula: 'count' },
      { type: 'UpdateMeter', displayName: 'API calls', at: 110 },
      { type: 'DeactivateMeter', at: 120 },
      { type: 'ReactivateMeter', at: 130 },
    ];
    let s: MeterState = null;
    const events = cmds.flatMap((c) => {
      const ev = decideMeter(c, s);
      s = ev.reduce(evolveMeter, s);
      return ev;
    });
    expect(events.map((e) => e.type)).toEqual(['MeterCreated', 'MeterUpdated', 'MeterDeactivated', 'MeterReactivated']);
    for (const e of events) expect(eventContractViolation(METER_INGESTION_EVENTS, e.type, e.data), e.type).toBeNull();
  });

  it('refuses a meter with an unknown formula', () => {
    const [e] = decideMeter(create, null);
    expect(eventContractViolation(METER_INGESTION_EVENTS, e!.type, { ...e!.data, formula: 'max' })).toMatch(/^formula: /);
  });
});
