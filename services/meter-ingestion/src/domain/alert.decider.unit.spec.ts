import { describe, expect, it } from 'vitest';
import { deciderSpec } from '@meterflow/testing';
import { AlertCreated, AlertStatusChanged, AlertTriggered, METER_INGESTION_EVENTS, eventContractViolation } from '@meterflow/contracts';
import { alertDecider, decideAlert, evolveAlert, shouldTrigger, type Alert, type AlertCommand, type AlertState } from './alert.decider.js';

const create: AlertCommand = { type: 'CreateAlert', id: 'alrt_1', title: 't', meterId: 'mtr_1', gte: 10, customer: null, at: 5 };
const created = AlertCreated({ id: 'alrt_1', title: 't', meterId: 'mtr_1', gte: 10, customer: null, at: 5 });
const archived = AlertStatusChanged({ status: 'archived', at: 6 });
const spec = deciderSpec(alertDecider);

describe('alert decider', () => {
  it('given nothing, when created, then active', () => {
    spec.given([]).when(create).then([created]);
    expect(spec.given([created]).state).toMatchObject({ status: 'active', created: 5 });
    spec.given([created]).when(create).then({ code: 'resource_already_exists' });
  });
  it('given an archived alert, when activated or deactivated, then refused; archived again, nothing', () => {
    spec.given([created, archived]).when({ type: 'SetAlertStatus', status: 'active', at: 7 }).then({ code: 'alert_archived' });
    spec
      .given([created, archived])
      .when({ type: 'SetAlertStatus', status: 'inactive', at: 7 })
      .then(/archived/);
    spec.given([created, archived]).when({ type: 'SetAlertStatus', status: 'archived', at: 7 }).then([]);
  });
  it('given the same status, then no event; another status, then AlertStatusChanged', () => {
    spec.given([created]).when({ type: 'SetAlertStatus', status: 'active', at: 7 }).then([]);
    spec
      .given([created])
      .when({ type: 'SetAlertStatus', status: 'inactive', at: 7 })
      .then([AlertStatusChanged({ status: 'inactive', at: 7 })]);
  });
  it('given no alert, when its status is set or it is triggered, then not found', () => {
    spec.given([]).when({ type: 'SetAlertStatus', status: 'inactive', at: 7 }).then({ code: 'resource_missing' });
    spec.given([]).when({ type: 'TriggerAlert', customer: 'c', value: 10n, at: 7 }).then({ code: 'resource_missing' });
  });
  it('given an active alert, when usage reaches gte, then AlertTriggered (the alert itself unchanged); below, or inactive, nothing', () => {
    spec
      .given([created])
      .when({ type: 'TriggerAlert', customer: 'c', value: 10n, at: 9 })
      .then((events, after) => {
        expect(events).toEqual([AlertTriggered({ customer: 'c', value: '10', at: 9 })]);
        expect(after).toEqual(spec.given([created]).state);
      });
    spec.given([created]).when({ type: 'TriggerAlert', customer: 'c', value: 9n, at: 9 }).then([]);
    spec
      .given([created, AlertStatusChanged({ status: 'inactive', at: 6 })])
      .when({ type: 'TriggerAlert', customer: 'c', value: 50n, at: 9 })
      .then([]);
    const forD = AlertCreated({ id: 'alrt_2', title: 't', meterId: 'mtr_1', gte: 10, customer: 'd', at: 5 });
    spec.given([forD]).when({ type: 'TriggerAlert', customer: 'c', value: 50n, at: 9 }).then([]);
  });
});

describe('shouldTrigger (one_time)', () => {
  const alert = spec.given([created]).state as Alert;
  it('fires when usage reaches gte, once', () => {
    expect(shouldTrigger(alert, 'c', 9n, false)).toBe(false);
    expect(shouldTrigger(alert, 'c', 10n, false)).toBe(true);
    expect(shouldTrigger(alert, 'c', 50n, true)).toBe(false);
  });
  it('respects the customer filter and the status', () => {
    expect(shouldTrigger({ ...alert, customer: 'd' }, 'c', 10n, false)).toBe(false);
    expect(shouldTrigger({ ...alert, status: 'inactive' }, 'c', 10n, false)).toBe(false);
  });
});

describe('the event contract (METER_INGESTION_EVENTS)', () => {
  it('accepts everything the alert decider emits', () => {
    const cmds: AlertCommand[] = [
      { ...create, customer: 'cus_1' },
      { type: 'SetAlertStatus', status: 'inactive', at: 6 },
      { type: 'SetAlertStatus', status: 'active', at: 7 },
      { type: 'TriggerAlert', customer: 'cus_1', value: 12n, at: 8 },
      { type: 'SetAlertStatus', status: 'archived', at: 9 },
    ];
    let s: AlertState = null;
    const events = cmds.flatMap((c) => {
      const ev = decideAlert(c, s);
      s = ev.reduce(evolveAlert, s);
      return ev;
    });
    expect(events.map((e) => e.type)).toEqual([
      'AlertCreated',
      'AlertStatusChanged',
      'AlertStatusChanged',
      'AlertTriggered',
      'AlertStatusChanged',
    ]);
    for (const e of events) expect(eventContractViolation(METER_INGESTION_EVENTS, e.type, e.data), e.type).toBeNull();
  });

  it('refuses a status the alert cannot have', () => {
    expect(eventContractViolation(METER_INGESTION_EVENTS, 'AlertStatusChanged', { status: 'deleted', at: 1 })).toMatch(/^status: /);
  });
});
