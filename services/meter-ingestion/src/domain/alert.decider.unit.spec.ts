import { describe, expect, it } from 'vitest';
import { METER_INGESTION_EVENTS, eventContractViolation } from '@meterflow/contracts';
import { decideAlert, evolveAlert, shouldTrigger, type Alert, type AlertCommand, type AlertState } from './alert.decider.js';

const create: AlertCommand = { type: 'CreateAlert', id: 'alrt_1', title: 't', meterId: 'mtr_1', gte: 10, customer: null, at: 5 };
const given = (...cmds: AlertCommand[]): AlertState => cmds.reduce<AlertState>((s, c) => decideAlert(c, s).reduce(evolveAlert, s), null);

describe('alert decider', () => {
  it('given nothing, when created, then active', () => {
    expect(given(create)).toMatchObject({ status: 'active', created: 5 });
  });
  it('given an archived alert, when activated or deactivated, then refused', () => {
    const archived = given(create, { type: 'SetAlertStatus', status: 'archived', at: 6 });
    expect(() => decideAlert({ type: 'SetAlertStatus', status: 'active', at: 7 }, archived)).toThrow(/archived/);
    expect(() => decideAlert({ type: 'SetAlertStatus', status: 'inactive', at: 7 }, archived)).toThrow(/archived/);
  });
  it('given the same status, then no event', () => {
    expect(decideAlert({ type: 'SetAlertStatus', status: 'active', at: 7 }, given(create))).toEqual([]);
  });
});

describe('shouldTrigger (one_time)', () => {
  const alert = given(create) as Alert;
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
      { type: 'SetAlertStatus', status: 'archived', at: 8 },
    ];
    let s: AlertState = null;
    const events = cmds.flatMap((c) => {
      const ev = decideAlert(c, s);
      s = ev.reduce(evolveAlert, s);
      return ev;
    });
    expect(events.map((e) => e.type)).toEqual(['AlertCreated', 'AlertStatusChanged', 'AlertStatusChanged', 'AlertStatusChanged']);
    for (const e of events) expect(eventContractViolation(METER_INGESTION_EVENTS, e.type, e.data), e.type).toBeNull();
  });

  it('refuses a status the alert cannot have', () => {
    expect(eventContractViolation(METER_INGESTION_EVENTS, 'AlertStatusChanged', { status: 'deleted', at: 1 })).toMatch(/^status: /);
  });
});
