import type {
  EventOf,
  TestClockAdvanceFailed,
  TestClockAdvanceStarted,
  TestClockCreated,
  TestClockDeleted,
  TestClockDocument,
  TestClockReady,
  TestClockStepCompleted,
} from '@meterflow/contracts';
import { DomainError, assertNever, invalid } from '@meterflow/kernel';
import { addMonthsClamped, boundary, type Recurrence } from './billing-period.js';

/** A test clock's state is carried whole by TestClockCreated: its shape is the event contract's. */
export type TestClockState = TestClockDocument;
export type TestClockStatus = TestClockState['status'];

export type TestClockEvent =
  | EventOf<typeof TestClockCreated>
  | EventOf<typeof TestClockAdvanceStarted>
  | EventOf<typeof TestClockStepCompleted>
  | EventOf<typeof TestClockReady>
  | EventOf<typeof TestClockAdvanceFailed>
  | EventOf<typeof TestClockDeleted>;

export type TestClockCommand =
  | { type: 'CreateTestClock'; id: string; now: number; frozen_time: number; name: string | null }
  | {
      type: 'StartAdvance';
      frozen_time: number;
      /** Recurrences of the active subscriptions on the clock (the shortest limits the jump). */
      subscriptions: Recurrence[];
    }
  | { type: 'CompleteStep'; to: number }
  | { type: 'FinishAdvance' }
  | { type: 'FailAdvance'; reason: string }
  | { type: 'DeleteTestClock' };

const DAY = 86_400;

/** Furthest a clock may jump: two intervals of its shortest subscription, or two years. */
export function advanceLimit(frozen: number, subscriptions: readonly Recurrence[]): number {
  if (subscriptions.length === 0) return addMonthsClamped(frozen, 24);
  return Math.min(...subscriptions.map((r) => boundary(frozen, r, 2)));
}

export function decide(command: TestClockCommand, state: TestClockState | null): TestClockEvent[] {
  if (command.type === 'CreateTestClock') {
    if (state) throw new DomainError('resource_already_exists', `Test clock ${command.id} already exists.`);
    return [
      {
        type: 'TestClockCreated',
        data: {
          clock: {
            id: command.id,
            created: command.now,
            deletes_after: command.now + 7 * DAY,
            frozen_time: command.frozen_time,
            name: command.name,
            status: 'ready',
            target: null,
            reached: command.frozen_time,
            deleted: false,
            failure: null,
          },
        },
      },
    ];
  }
  if (!state || state.deleted) throw new DomainError('resource_missing', 'No such test clock', { status: 404 });
  switch (command.type) {
    case 'StartAdvance': {
      if (state.status === 'advancing')
        throw new DomainError(
          'test_clock_advancing',
          'The test clock is already advancing. Wait for it to be ready before advancing it again.',
          {
            param: 'frozen_time',
          },
        );
      if (command.frozen_time <= state.frozen_time)
        throw invalid(
          'frozen_time',
          'The test clock can only be advanced forward: frozen_time must be later than the current frozen_time.',
        );
      const limit = advanceLimit(state.frozen_time, command.subscriptions);
      if (command.frozen_time > limit)
        throw invalid(
          'frozen_time',
          `Cannot advance the test clock more than two intervals of the shortest subscription on it (or two years without subscriptions): frozen_time must be at most ${limit}.`,
        );
      return [{ type: 'TestClockAdvanceStarted', data: { target: command.frozen_time } }];
    }
    case 'CompleteStep':
      if (state.status !== 'advancing' || command.to <= state.reached) return [];
      return [{ type: 'TestClockStepCompleted', data: { to: command.to } }];
    case 'FinishAdvance':
      if (state.status !== 'advancing' || state.target === null) return [];
      return [{ type: 'TestClockReady', data: { frozen_time: state.target } }];
    case 'FailAdvance':
      if (state.status !== 'advancing') return [];
      return [{ type: 'TestClockAdvanceFailed', data: { at: state.reached, reason: command.reason } }];
    case 'DeleteTestClock':
      return [{ type: 'TestClockDeleted', data: {} }];
    default:
      return assertNever(command);
  }
}

export function evolve(state: TestClockState | null, event: TestClockEvent): TestClockState | null {
  if (event.type === 'TestClockCreated') return event.data.clock;
  if (!state) return state;
  switch (event.type) {
    case 'TestClockAdvanceStarted':
      return { ...state, status: 'advancing', target: event.data.target, reached: state.frozen_time, failure: null };
    case 'TestClockStepCompleted':
      return { ...state, reached: event.data.to };
    case 'TestClockReady':
      return { ...state, status: 'ready', frozen_time: event.data.frozen_time, reached: event.data.frozen_time, target: null };
    case 'TestClockAdvanceFailed':
      return { ...state, status: 'internal_failure', failure: event.data.reason };
    case 'TestClockDeleted':
      return { ...state, deleted: true };
    default:
      return state;
  }
}

/**
 * One turn of the advance loop (clock-protocol.ts): given what each participant reports as its
 * earliest work in (reached, target], step to the earliest, or finish when nothing is due.
 */
export function nextLoopStep(state: TestClockState, dues: readonly (number | null)[]): { kind: 'step'; to: number } | { kind: 'finish' } {
  if (state.target === null) return { kind: 'finish' };
  const due = dues.filter((d): d is number => d !== null && d > state.reached && d <= state.target!);
  if (due.length === 0) return { kind: 'finish' };
  return { kind: 'step', to: Math.min(...due) };
}

export function toStripeTestClock(s: TestClockState) {
  return {
    id: s.id,
    object: 'test_helpers.test_clock' as const,
    created: s.created,
    deletes_after: s.deletes_after,
    frozen_time: s.frozen_time,
    livemode: false,
    name: s.name,
    status: s.status,
    status_details: s.status === 'advancing' && s.target !== null ? { advancing: { target_frozen_time: s.target } } : {},
  };
}

/** The decider the command pipeline runs (state `null` until created). */
export const testClockDecider = {
  initialState: (): TestClockState | null => null,
  decide,
  evolve,
};
