import { CLOCK_ADVANCE_BUDGET_MS } from '@meterflow/contracts';
import type { Logger } from '@meterflow/observability';
import type { Finalization } from './finalization.js';
import type { ClosePart, ClosePartitions, DueDrafts } from './ports.js';

const WHOLE: ClosePart = { partition: 0, partitions: 1 };
/** How long a call for a part another call is finalizing waits before answering `done: false`. */
const BUSY_WAIT_MS = 1000;

/**
 * Drafts whose `automatically_finalizes_at` has come: customers on a test clock are driven by
 * `clock.advance_to`, the others by the real-time scheduler. Both finalize in time order.
 */
export class DueInvoices {
  constructor(
    private readonly drafts: DueDrafts,
    private readonly finalization: Finalization,
    private readonly logger?: Logger,
    /** Drafts finalized per batch (one re-rating and one credits request per batch). */
    private readonly batchSize = 500,
    /** The close split by customer over the replicas; without it, this replica does it all, unlocked. */
    private readonly close?: ClosePartitions,
  ) {}

  /** Finalize rows (sorted by due time) one due time after the other, each group as batches. */
  private async inTimeOrder(
    rows: { id: string; due: number }[],
    at: (r: { due: number }) => number,
    onError?: (id: string, e: unknown) => void,
  ): Promise<void> {
    let i = 0;
    while (i < rows.length) {
      const due = rows[i]!.due;
      let j = i;
      while (j < rows.length && rows[j]!.due === due) j++;
      const group = rows.slice(i, j).map((r) => ({ id: r.id, at: at(r) }));
      await this.finalization.finalizeMany(group, onError ? { onError } : {});
      i = j;
    }
  }

  /**
   * Earliest finalization due in (after, upTo] for drafts on this clock. A draft already overdue
   * (due at or before `after`, e.g. given a past `automatically_finalizes_at`) is reported as
   * due at `after + 1`, so that it is not left behind.
   */
  async nextDue(clock: string, after: number, upTo: number): Promise<number | null> {
    const at = await this.drafts.earliest(clock, upTo);
    if (at === null) return null;
    const due = Math.max(at, after + 1);
    return due <= upTo ? due : null;
  }

  /**
   * Finalize the drafts on this clock due at or before `to`, each at its own due time, batch
   * after batch. After `budgetMs` it stops between batches: `done: false` means drafts due by `to`
   * may be left, for the next call (the clock protocol asks again). With `partitions` > 1 the
   * drafts are split by customer and every part is asked for at once, through the queue group
   * (any replica, this one included, may finalize a part): done when every part is.
   */
  async advanceTo(clock: string, to: number, budgetMs = CLOCK_ADVANCE_BUDGET_MS): Promise<{ done: boolean; finalized: number }> {
    const partitions = this.close?.partitions ?? 1;
    if (partitions <= 1) return this.advancePart(clock, to, WHOLE, budgetMs);
    const parts = await Promise.all(
      Array.from({ length: partitions }, (_, partition) => this.close!.advancePartition({ clock, to, partition, partitions })),
    );
    return { done: parts.every((p) => p.done), finalized: parts.reduce((n, p) => n + p.finalized, 0) };
  }

  /**
   * One part of a clock's close (`clock.advance_partition`, or the whole close), finalized while
   * this call holds the part's lock: a call for a part another call is still finalizing (a step
   * asked again after a timeout, a second replica) waits a moment and answers `done: false`
   * instead of racing it for the same drafts.
   */
  async advancePart(
    clock: string,
    to: number,
    part: ClosePart,
    budgetMs = CLOCK_ADVANCE_BUDGET_MS,
  ): Promise<{ done: boolean; finalized: number }> {
    const run = () => this.finalizeDue(clock, to, part, budgetMs);
    if (!this.close) return run();
    const held = await this.close.exclusive(`mf_close:invoicing:${clock}:${part.partition}/${part.partitions}`, run);
    if (held.ran) return held.value;
    await new Promise((r) => setTimeout(r, BUSY_WAIT_MS));
    return { done: false, finalized: 0 };
  }

  private async finalizeDue(clock: string, to: number, part: ClosePart, budgetMs: number): Promise<{ done: boolean; finalized: number }> {
    const deadline = Date.now() + budgetMs;
    let finalized = 0;
    for (;;) {
      const rows = await this.drafts.due(clock, to, this.batchSize, part.partitions > 1 ? part : undefined);
      if (rows.length === 0) return { done: true, finalized };
      await this.inTimeOrder(rows, (r) => r.due);
      finalized += rows.length;
      if (rows.length < this.batchSize) return { done: true, finalized };
      if (Date.now() >= deadline) return { done: false, finalized };
    }
  }

  /** One pass of the real-time scheduler (customers without a test clock). */
  async tick(now: number): Promise<number> {
    const rows = await this.drafts.due(null, now, this.batchSize);
    let failed = 0;
    await this.inTimeOrder(
      rows,
      () => now,
      (id, e) => {
        // Left as a draft: the next tick retries (every step is idempotent).
        failed++;
        this.logger?.warn({ err: e, invoice: id }, 'automatic finalization failed; will retry');
      },
    );
    return rows.length - failed;
  }
}
