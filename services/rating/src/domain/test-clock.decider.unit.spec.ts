import { DomainError } from '@meterflow/kernel';
import { deciderSpec } from '@meterflow/testing';
import { describe, expect, it } from 'vitest';
import { nextLoopStep, testClockDecider, toStripeTestClock, type TestClockCommand, type TestClockEvent } from './test-clock.decider.js';

const u = (iso: string): number => Date.parse(iso) / 1000;
const T0 = u('2025-01-01T00:00:00Z');
const monthly = { interval: 'month' as const, interval_count: 1 };

/** given: past events; when: a command; then: the new events (with the state after), or the refusal. */
const given = (events: readonly TestClockEvent[] = []) => deciderSpec(testClockDecider).given(events);
/** `events` followed by what `command` records after them (to build the next given). */
function step(events: readonly TestClockEvent[], command: TestClockCommand): TestClockEvent[] {
  let out: TestClockEvent[] = [];
  given(events)
    .when(command)
    .then((e) => {
      out = e;
    });
  return [...events, ...out];
}
const created = () => step([], { type: 'CreateTestClock', id: 'clock_1', now: 1000, frozen_time: T0, name: 'x' });
const advance = (frozen_time: number, subscriptions: Extract<TestClockCommand, { type: 'StartAdvance' }>['subscriptions'] = []) =>
  ({ type: 'StartAdvance', frozen_time, subscriptions }) as const;

describe('test clock', () => {
  it('given a new clock, then ready at its frozen time, deleting after 7 days', () => {
    given()
      .when({ type: 'CreateTestClock', id: 'clock_1', now: 1000, frozen_time: T0, name: 'x' })
      .then((_, s) =>
        expect(toStripeTestClock(s!)).toEqual({
          id: 'clock_1',
          object: 'test_helpers.test_clock',
          created: 1000,
          deletes_after: 1000 + 7 * 86400,
          frozen_time: T0,
          livemode: false,
          name: 'x',
          status: 'ready',
          status_details: {},
        }),
      );
  });
  it('when advanced, then advancing with the target in status_details', () => {
    given(created())
      .when(advance(T0 + 3600))
      .then((_, s) =>
        expect(toStripeTestClock(s!)).toMatchObject({
          status: 'advancing',
          frozen_time: T0,
          status_details: { advancing: { target_frozen_time: T0 + 3600 } },
        }),
      );
  });
  it('refuses to go backwards or stand still', () => {
    given(created())
      .when(advance(T0))
      .then(/forward/);
  });
  it('refuses to advance while advancing', () => {
    given(step(created(), advance(T0 + 10)))
      .when(advance(T0 + 20))
      .then(/already advancing/);
  });
  it('limits a jump to two intervals of the shortest subscription', () => {
    const subs = [monthly, { interval: 'week' as const, interval_count: 1 }];
    given(created())
      .when(advance(T0 + 14 * 86400 + 1, subs))
      .then(/two intervals/);
    given(created())
      .when(advance(T0 + 14 * 86400, subs))
      .then((events) => expect(events).toHaveLength(1));
  });
  it('limits a jump to two years without subscriptions', () => {
    given(created())
      .when(advance(u('2027-01-01T00:00:01Z')))
      .then(DomainError);
    given(created())
      .when(advance(u('2027-01-01T00:00:00Z')))
      .then((events) => expect(events).toHaveLength(1));
  });
  it('the loop steps to the earliest due work within (reached, target], then finishes', () => {
    let evs = step(created(), advance(T0 + 100));
    expect(nextLoopStep(given(evs).state!, [null, T0 + 50, T0 + 20, null])).toEqual({ kind: 'step', to: T0 + 20 });
    evs = step(evs, { type: 'CompleteStep', to: T0 + 20 });
    // work at or before what is already reached, or after the target, does not count
    expect(nextLoopStep(given(evs).state!, [T0 + 20, T0 + 101, null])).toEqual({ kind: 'finish' });
    expect(nextLoopStep(given(evs).state!, [T0 + 100])).toEqual({ kind: 'step', to: T0 + 100 });
    given(evs)
      .when({ type: 'FinishAdvance' })
      .then((_, s) => expect(toStripeTestClock(s!)).toMatchObject({ status: 'ready', frozen_time: T0 + 100, status_details: {} }));
  });
  it('a completed step is idempotent (restart after a crash repeats nothing)', () => {
    const evs = step(step(created(), advance(T0 + 100)), { type: 'CompleteStep', to: T0 + 20 });
    given(evs)
      .when({ type: 'CompleteStep', to: T0 + 20 })
      .then([]);
    expect(given(evs).state!.reached).toBe(T0 + 20);
  });
  it('a failing step leaves the clock in internal_failure, and it can be advanced again', () => {
    const evs = step(step(created(), advance(T0 + 100)), { type: 'FailAdvance', reason: 'invoicing timed out' });
    expect(given(evs).state!.status).toBe('internal_failure');
    given(evs)
      .when(advance(T0 + 200))
      .then((events) => expect(events).toHaveLength(1));
  });
  it('a deleted clock refuses everything', () => {
    given(step(created(), { type: 'DeleteTestClock' }))
      .when(advance(T0 + 1))
      .then(/No such test clock/);
  });
});
