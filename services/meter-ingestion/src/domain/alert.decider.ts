import { AlertCreated, AlertStatusChanged, AlertTriggered, type AlertEvent } from '@meterflow/contracts';
import { assertNever, DomainError } from '@meterflow/kernel';

/** A usage alert (`billing.alert`, `usage_threshold`, recurrence `one_time`). */
export type AlertStatus = AlertStatusChanged['data']['status'];
export interface Alert {
  id: string;
  title: string;
  meterId: string;
  gte: number;
  customer: string | null;
  status: AlertStatus;
  created: number;
}

export type AlertCommand =
  | { type: 'CreateAlert'; id: string; title: string; meterId: string; gte: number; customer: string | null; at: number }
  | { type: 'SetAlertStatus'; status: AlertStatus; at: number }
  /** The customer's usage since the alert's creation is `value`: the alert fires if it should (once per customer, checked by the caller). */
  | { type: 'TriggerAlert'; customer: string; value: bigint; at: number };

export type AlertState = Alert | null;

/** What an alert's decider emits. */
export type AlertDecided = ReturnType<typeof AlertCreated | typeof AlertStatusChanged | typeof AlertTriggered>;

export function decideAlert(c: AlertCommand, s: AlertState): AlertDecided[] {
  switch (c.type) {
    case 'CreateAlert': {
      if (s) throw new DomainError('resource_already_exists', `Alert ${s.id} already exists.`);
      const { type: _t, ...data } = c;
      return [AlertCreated(data)];
    }
    case 'SetAlertStatus':
      if (!s) throw new DomainError('resource_missing', 'No such billing.alert', { status: 404 });
      if (s.status === 'archived' && c.status !== 'archived')
        throw new DomainError(
          'alert_archived',
          `The alert ${s.id} is archived and cannot be ${c.status === 'active' ? 'activated' : 'deactivated'}.`,
        );
      return s.status === c.status ? [] : [AlertStatusChanged({ status: c.status, at: c.at })];
    case 'TriggerAlert':
      if (!s) throw new DomainError('resource_missing', 'No such billing.alert', { status: 404 });
      return shouldTrigger(s, c.customer, c.value, false)
        ? [AlertTriggered({ customer: c.customer, value: c.value.toString(), at: c.at })]
        : [];
    default:
      return assertNever(c);
  }
}

export function evolveAlert(s: AlertState, event: { type: string; data: unknown }): AlertState {
  const e = event as AlertEvent;
  switch (e.type) {
    case 'AlertCreated': {
      const { at, ...d } = e.data;
      return { ...d, status: 'active', created: at };
    }
    case 'AlertStatusChanged':
      return s && { ...s, status: e.data.status };
    case 'AlertTriggered':
      // Who triggered it is kept in the `alert_triggers` read model, not in the alert.
      return s;
    default:
      return s;
  }
}

/** The alert's decider, as the command pipeline (and `deciderSpec`) take it. */
export const alertDecider = {
  initialState: (): AlertState => null,
  decide: decideAlert,
  evolve: evolveAlert,
};

/** `one_time`: fires the first time the customer's usage since the alert's creation reaches `gte`. */
export function shouldTrigger(alert: Alert, customer: string, usage: bigint, alreadyTriggered: boolean): boolean {
  if (alert.status !== 'active' || alreadyTriggered) return false;
  if (alert.customer !== null && alert.customer !== customer) return false;
  return usage >= BigInt(alert.gte);
}

export function toStripeAlert(a: Alert) {
  return {
    id: a.id,
    object: 'billing.alert' as const,
    alert_type: 'usage_threshold' as const,
    livemode: false,
    status: a.status,
    title: a.title,
    usage_threshold: {
      filters: a.customer ? [{ customer: a.customer, type: 'customer' as const }] : null,
      gte: a.gte,
      meter: a.meterId,
      recurrence: 'one_time' as const,
    },
  };
}
