import { assertNever, DomainError } from '@meterflow/kernel';
import { MeterCreated, MeterDeactivated, MeterReactivated, MeterUpdated, type MeterLifecycleEvent } from '@meterflow/contracts';
import type { EventTimeWindow, Meter, MeterFormula } from './meter.types.js';

export type MeterCommand =
  | {
      type: 'CreateMeter';
      id: string;
      displayName: string;
      eventName: string;
      formula: MeterFormula;
      customerPayloadKey: string;
      valuePayloadKey: string;
      eventTimeWindow: EventTimeWindow | null;
      at: number;
    }
  | { type: 'UpdateMeter'; displayName?: string; at: number }
  | { type: 'DeactivateMeter'; at: number }
  | { type: 'ReactivateMeter'; at: number };

export type MeterState = Meter | null;
export const initialMeterState: MeterState = null;

/** What a meter's decider emits (the lifecycle events, as built and validated by their contracts). */
export type MeterEvent = ReturnType<typeof MeterCreated | typeof MeterUpdated | typeof MeterDeactivated | typeof MeterReactivated>;

export function decideMeter(command: MeterCommand, state: MeterState): MeterEvent[] {
  switch (command.type) {
    case 'CreateMeter': {
      if (state) throw new DomainError('resource_already_exists', `Meter ${state.id} already exists.`);
      const { type: _t, ...data } = command;
      return [MeterCreated(data)];
    }
    case 'UpdateMeter':
      requireMeter(state);
      if (command.displayName === undefined) return [];
      return [MeterUpdated({ displayName: command.displayName, at: command.at })];
    case 'DeactivateMeter':
      // Deactivating an inactive meter changes nothing (no event), like other idempotent actions.
      return requireMeter(state).status === 'inactive' ? [] : [MeterDeactivated({ at: command.at })];
    case 'ReactivateMeter':
      return requireMeter(state).status === 'active' ? [] : [MeterReactivated({ at: command.at })];
    default:
      return assertNever(command);
  }
}

function requireMeter(state: MeterState): Meter {
  if (!state) throw new DomainError('resource_missing', 'No such billing.meter', { status: 404 });
  return state;
}

export function evolveMeter(state: MeterState, event: { type: string; data: unknown }): MeterState {
  const e = event as MeterLifecycleEvent;
  switch (e.type) {
    case 'MeterCreated': {
      const { at, ...d } = e.data;
      return { ...d, status: 'active', created: at, updated: at, deactivatedAt: null };
    }
    case 'MeterUpdated':
      return state && { ...state, displayName: e.data.displayName, updated: e.data.at };
    case 'MeterDeactivated':
      return state && { ...state, status: 'inactive', deactivatedAt: e.data.at, updated: e.data.at };
    case 'MeterReactivated':
      return state && { ...state, status: 'active', deactivatedAt: null, updated: e.data.at };
    default:
      // Other facts on the stream (StripeEventEmitted) do not change the meter.
      return state;
  }
}

/** The meter's decider, as the command pipeline (and `deciderSpec`) take it. */
export const meterDecider = {
  initialState: (): MeterState => initialMeterState,
  decide: decideMeter,
  evolve: evolveMeter,
};
