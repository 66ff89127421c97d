import { Inject, Injectable } from '@nestjs/common';
import type { ClockNextDueReply } from '@meterflow/contracts';
import { nextTxnId } from './credit-grant.aggregate.js';
import { GRANTS, PIPELINE, SCHEDULE_READS, type GrantAggregate, type Pipeline, type ScheduleReads } from './ports.js';

/**
 * Grants become effective and expire by their customer's clock: a test clock's advance
 * (`clock.next_due` / `clock.advance_to`) or, for customers without one, the real-time scheduler.
 */
@Injectable()
export class GrantScheduleHandler {
  constructor(
    @Inject(PIPELINE) private readonly pipeline: Pipeline,
    @Inject(GRANTS) private readonly grants: GrantAggregate,
    @Inject(SCHEDULE_READS) private readonly schedule: ScheduleReads,
  ) {}

  nextDue(clock: string, after: number, upTo: number): Promise<ClockNextDueReply> {
    return this.schedule.nextDue(clock, after, upTo);
  }

  /**
   * Do every grant's work due by `to` (`clock` = one test clock; null = customers without one),
   * one unit per grant. After `budgetMs` it stops between grants (`done: false`): the rest stays
   * due for the next call.
   */
  async runDue(clock: string | null, to: number, budgetMs = Infinity): Promise<{ processed: number; done: boolean }> {
    const deadline = Date.now() + budgetMs;
    const due = await this.schedule.dueBy(clock, to);
    let processed = 0;
    for (const id of due) {
      // Past the budget (a clock step): stop between grants; the rest is still due next time.
      if (Date.now() >= deadline) return { processed, done: false };
      await this.pipeline.handle(this.grants, id, { type: 'Tick', at: to, nextTxnId });
      processed++;
    }
    return { processed, done: true };
  }
}
