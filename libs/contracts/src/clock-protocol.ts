import { z } from 'zod';
import { UnixSeconds } from './internal-ops.js';

/**
 * Test clocks: advancing one makes every service do all work due up to the new frozen time,
 * in time order. Rating (which owns clocks) runs the loop:
 *   repeat { t = min over services of `clock.next_due`; if none <= target: stop;
 *            each service in CLOCK_PARTICIPANTS order: `clock.advance_to(t)` until it
 *            answers `done: true` }
 * then sets frozen_time = target and status = ready. `done: true`: the service did all of its
 * work due at or before `to`, including the commands it sends to other services. A service with
 * much work due answers after about CLOCK_ADVANCE_BUDGET_MS with `done: false` and carries on
 * at the next call, so no single request outlives its timeout (a clock with 100,000
 * subscriptions finalizes for minutes).
 * Schemas with inferred types, like the other internal ops (see internal-ops.ts).
 */
const ClockId = z.string().min(1);

export const ClockNextDueRequest = z.object({
  clock: ClockId,
  /** Exclusive lower bound already processed, inclusive upper bound (unix seconds). */
  after: UnixSeconds,
  upTo: UnixSeconds,
});
export type ClockNextDueRequest = z.infer<typeof ClockNextDueRequest>;
export const ClockNextDueReply = z.object({ at: UnixSeconds.nullable() });
export type ClockNextDueReply = z.infer<typeof ClockNextDueReply>;

export const ClockAdvanceToRequest = z.object({ clock: ClockId, to: UnixSeconds });
export type ClockAdvanceToRequest = z.infer<typeof ClockAdvanceToRequest>;
export const ClockAdvanceToReply = z.object({ done: z.boolean() });
export type ClockAdvanceToReply = z.infer<typeof ClockAdvanceToReply>;

/** About how long a participant works on one `clock.advance_to` before answering `done: false`. */
export const CLOCK_ADVANCE_BUDGET_MS = 10_000;

export const CLOCK_OPS = { nextDue: 'clock.next_due', advanceTo: 'clock.advance_to' } as const;

/**
 * `test_clocks.progress` (rating, internal): how far an advance is, for operators (`meterflow clock
 * advance`) and the console. `subscriptions.due`: subscriptions on the clock with period-close
 * work at or before the target (or an invoice not yet handed over); it falls to 0 as the advance
 * closes them.
 */
export const ClockProgressRequest = z.object({ clock: ClockId });
export type ClockProgressRequest = z.infer<typeof ClockProgressRequest>;
export const ClockProgressReply = z.object({
  status: z.enum(['ready', 'advancing', 'internal_failure']),
  frozen_time: UnixSeconds,
  /** Where the advance has got to (every participant done up to here). */
  reached: UnixSeconds,
  target: UnixSeconds.nullable(),
  failure: z.string().nullable(),
  subscriptions: z.object({ total: z.number().int().nonnegative(), due: z.number().int().nonnegative() }),
});
export type ClockProgressReply = z.infer<typeof ClockProgressReply>;

export const CLOCK_PROGRESS_OP = 'test_clocks.progress';
