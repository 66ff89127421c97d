import { CLOCK_ADVANCE_BUDGET_MS } from '@meterflow/contracts';
import type { Logger } from '@meterflow/observability';
import type { Finalization } from './finalization.js';
import type { DueDrafts } from './ports.js';

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
   * may be left, for the next call (the clock protocol asks again).
   */
  async advanceTo(clock: string, to: number, budgetMs = CLOCK_ADVANCE_BUDGET_MS): Promise<{ done: boolean; finalized: number }> {
    const deadline = Date.now() + budgetMs;
    let finalized = 0;
    for (;;) {
      const rows = await this.drafts.due(clock, to, this.batchSize);
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
