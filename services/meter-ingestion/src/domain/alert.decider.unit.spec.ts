import { describe, expect, it } from 'vitest';
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
