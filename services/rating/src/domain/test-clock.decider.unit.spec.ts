import { describe, expect, it } from 'vitest';
import { decide, evolve, nextLoopStep, toStripeTestClock, type TestClockEvent, type TestClockState } from './test-clock.decider.js';

const u = (iso: string): number => Date.parse(iso) / 1000;
const fold = (events: TestClockEvent[], s: TestClockState | null = null) => events.reduce(evolve, s);
const T0 = u('2025-01-01T00:00:00Z');
const created = () => fold(decide({ type: 'CreateTestClock', id: 'clock_1', now: 1000, frozen_time: T0, name: 'x' }, null))!;
const monthly = { interval: 'month' as const, interval_count: 1 };

describe('test clock', () => {
  it('given a new clock, then ready at its frozen time, deleting after 7 days', () => {
    expect(toStripeTestClock(created())).toEqual({
      id: 'clock_1',
      object: 'test_helpers.test_clock',
      created: 1000,
      deletes_after: 1000 + 7 * 86400,
      frozen_time: T0,
      livemode: false,
      name: 'x',
      status: 'ready',
      status_details: {},
    });
  });
  it('when advanced, then advancing with the target in status_details', () => {
    const s = fold(decide({ type: 'StartAdvance', frozen_time: T0 + 3600, subscriptions: [] }, created()), created())!;
    expect(toStripeTestClock(s)).toMatchObject({
      status: 'advancing',
      frozen_time: T0,
      status_details: { advancing: { target_frozen_time: T0 + 3600 } },
    });
  });
  it('refuses to go backwards or stand still', () => {
    expect(() => decide({ type: 'StartAdvance', frozen_time: T0, subscriptions: [] }, created())).toThrow(/forward/);
  });
  it('refuses to advance while advancing', () => {
    const s = fold(decide({ type: 'StartAdvance', frozen_time: T0 + 10, subscriptions: [] }, created()), created())!;
    expect(() => decide({ type: 'StartAdvance', frozen_time: T0 + 20, subscriptions: [] }, s)).toThrow(/already advancing/);
  });
  it('limits a jump to two intervals of the shortest subscription', () => {
    const subs = [monthly, { interval: 'week' as const, interval_count: 1 }];
    expect(() => decide({ type: 'StartAdvance', frozen_time: T0 + 14 * 86400 + 1, subscriptions: subs }, created())).toThrow(
      /two intervals/,
    );
    expect(decide({ type: 'StartAdvance', frozen_time: T0 + 14 * 86400, subscriptions: subs }, created())).toHaveLength(1);
  });
  it('limits a jump to two years without subscriptions', () => {
    expect(() => decide({ type: 'StartAdvance', frozen_time: u('2027-01-01T00:00:01Z'), subscriptions: [] }, created())).toThrow();
    expect(decide({ type: 'StartAdvance', frozen_time: u('2027-01-01T00:00:00Z'), subscriptions: [] }, created())).toHaveLength(1);
  });
  it('the loop steps to the earliest due work within (reached, target], then finishes', () => {
    let s = fold(decide({ type: 'StartAdvance', frozen_time: T0 + 100, subscriptions: [] }, created()), created())!;
    expect(nextLoopStep(s, [null, T0 + 50, T0 + 20, null])).toEqual({ kind: 'step', to: T0 + 20 });
    s = fold(decide({ type: 'CompleteStep', to: T0 + 20 }, s), s)!;
    // work at or before what is already reached, or after the target, does not count
    expect(nextLoopStep(s, [T0 + 20, T0 + 101, null])).toEqual({ kind: 'finish' });
    expect(nextLoopStep(s, [T0 + 100])).toEqual({ kind: 'step', to: T0 + 100 });
    s = fold(decide({ type: 'FinishAdvance' }, s), s)!;
    expect(toStripeTestClock(s)).toMatchObject({ status: 'ready', frozen_time: T0 + 100, status_details: {} });
  });
  it('a completed step is idempotent (restart after a crash repeats nothing)', () => {
    let s = fold(decide({ type: 'StartAdvance', frozen_time: T0 + 100, subscriptions: [] }, created()), created())!;
    s = fold(decide({ type: 'CompleteStep', to: T0 + 20 }, s), s)!;
    expect(decide({ type: 'CompleteStep', to: T0 + 20 }, s)).toEqual([]);
    expect(s.reached).toBe(T0 + 20);
  });
  it('a failing step leaves the clock in internal_failure, and it can be advanced again', () => {
    let s = fold(decide({ type: 'StartAdvance', frozen_time: T0 + 100, subscriptions: [] }, created()), created())!;
    s = fold(decide({ type: 'FailAdvance', reason: 'invoicing timed out' }, s), s)!;
    expect(s.status).toBe('internal_failure');
    expect(decide({ type: 'StartAdvance', frozen_time: T0 + 200, subscriptions: [] }, s)).toHaveLength(1);
  });
  it('a deleted clock refuses everything', () => {
    const s = fold(decide({ type: 'DeleteTestClock' }, created()), created())!;
    expect(() => decide({ type: 'StartAdvance', frozen_time: T0 + 1, subscriptions: [] }, s)).toThrow(/No such test clock/);
  });
});
