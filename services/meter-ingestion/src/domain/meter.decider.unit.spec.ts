import { describe, expect, it } from 'vitest';
import { deciderSpec } from '@meterflow/testing';
import {
  METER_INGESTION_EVENTS,
  MeterCreated,
  MeterDeactivated,
  MeterReactivated,
  MeterUpdated,
  eventContractViolation,
} from '@meterflow/contracts';
import { decideMeter, evolveMeter, meterDecider, type MeterCommand, type MeterState } from './meter.decider.js';

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
const { type: _t, ...createdData } = create;
const created = MeterCreated(createdData);
const deactivated = MeterDeactivated({ at: 200 });
const spec = deciderSpec(meterDecider);

describe('meter decider', () => {
  it('given nothing, when created, then MeterCreated: an active meter', () => {
    spec.given([]).when(create).then([created]);
    spec
      .given([])
      .when(create)
      .then((_events, after) =>
        expect(after).toMatchObject({ id: 'mtr_1', status: 'active', created: 100, updated: 100, deactivatedAt: null }),
      );
  });

  it('given a meter, when deactivated then reactivated, then status and transitions follow', () => {
    spec.given([created]).when({ type: 'DeactivateMeter', at: 200 }).then([deactivated]);
    expect(spec.given([created, deactivated]).state).toMatchObject({ status: 'inactive', deactivatedAt: 200, updated: 200 });
    spec
      .given([created, deactivated])
      .when({ type: 'ReactivateMeter', at: 300 })
      .then((events, after) => {
        expect(events).toEqual([MeterReactivated({ at: 300 })]);
        expect(after).toMatchObject({ status: 'active', deactivatedAt: null, updated: 300 });
      });
  });

  it('given an inactive meter, when deactivated again, then nothing happens; given an active one, when reactivated, nothing either', () => {
    spec.given([created, deactivated]).when({ type: 'DeactivateMeter', at: 300 }).then([]);
    spec.given([created]).when({ type: 'ReactivateMeter', at: 300 }).then([]);
  });

  it('given a meter, when only display_name is updated, then only it changes; without a display_name, nothing', () => {
    spec
      .given([created])
      .when({ type: 'UpdateMeter', displayName: 'API', at: 150 })
      .then((events, after) => {
        expect(events).toEqual([MeterUpdated({ displayName: 'API', at: 150 })]);
        expect(after).toMatchObject({ displayName: 'API', eventName: 'calls', updated: 150 });
      });
    spec.given([created]).when({ type: 'UpdateMeter', at: 150 }).then([]);
  });

  it('given no meter, when updated, deactivated or reactivated, then not found; given a meter, when created again, then refused', () => {
    spec.given([]).when({ type: 'UpdateMeter', at: 1 }).then({ code: 'resource_missing' });
    spec.given([]).when({ type: 'DeactivateMeter', at: 1 }).then({ code: 'resource_missing' });
    spec.given([]).when({ type: 'ReactivateMeter', at: 1 }).then({ code: 'resource_missing' });
    spec.given([created]).when(create).then({ code: 'resource_already_exists' });
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
