/**
 * Test clocks: advancing one makes every service do all work due up to the new frozen time,
 * in time order. Rating (which owns clocks) runs the loop:
 *   repeat { t = min over services of `clock.next_due`; if none <= target: stop;
 *            each service in CLOCK_PARTICIPANTS order: `clock.advance_to(t)` }
 * then sets frozen_time = target and status = ready. A service does all of its work due at
 * or before `to` before it replies, including the commands it sends to other services.
 */
export interface ClockNextDueRequest {
  clock: string;
  /** Exclusive lower bound already processed, inclusive upper bound (unix seconds). */
  after: number;
  upTo: number;
}
export interface ClockNextDueReply {
  at: number | null;
}
export interface ClockAdvanceToRequest {
  clock: string;
  to: number;
}
export interface ClockAdvanceToReply {
  done: true;
}

export const CLOCK_OPS = { nextDue: 'clock.next_due', advanceTo: 'clock.advance_to' } as const;
