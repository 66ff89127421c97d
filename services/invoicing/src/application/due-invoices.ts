import type pg from 'pg';
import { CLOCK_ADVANCE_BUDGET_MS } from '@meterflow/contracts';
import type { Logger } from '@meterflow/observability';
import type { Finalization } from './finalization.js';

interface DueRow {
  id: string;
  due: string;
}

/**
 * Drafts whose `automatically_finalizes_at` has come: customers on a test clock are driven by
 * `clock.advance_to`, the others by the real-time scheduler. Both finalize in time order.
 */
export class DueInvoices {
  constructor(
    private readonly pool: pg.Pool,
    private readonly finalization: Finalization,
    private readonly logger?: Logger,
    /** Drafts finalized per batch (one re-rating and one credits request per batch). */
    private readonly batchSize = 500,
  ) {}

  /** Finalize rows (sorted by due time) one due time after the other, each group as batches. */
  private async inTimeOrder(rows: DueRow[], at: (r: DueRow) => number, onError?: (id: string, e: unknown) => void): Promise<void> {
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
    const res = await this.pool.query<{ at: string | null }>(
      `SELECT min(automatically_finalizes_at)::text AS at FROM invoices
        WHERE status = 'draft' AND auto_advance AND test_clock = $1 AND automatically_finalizes_at <= $2`,
      [clock, upTo],
    );
    const at = res.rows[0]?.at;
    if (at == null) return null;
    const due = Math.max(Number(at), after + 1);
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
      const res = await this.pool.query<DueRow>(
        `SELECT id, automatically_finalizes_at::text AS due FROM invoices
          WHERE status = 'draft' AND auto_advance AND test_clock = $1 AND automatically_finalizes_at <= $2
          ORDER BY automatically_finalizes_at, id LIMIT $3`,
        [clock, to, this.batchSize],
      );
      if (res.rows.length === 0) return { done: true, finalized };
      await this.inTimeOrder(res.rows, (r) => Number(r.due));
      finalized += res.rows.length;
      if (res.rows.length < this.batchSize) return { done: true, finalized };
      if (Date.now() >= deadline) return { done: false, finalized };
    }
  }

  /** One pass of the real-time scheduler (customers without a test clock). */
  async tick(now: number): Promise<number> {
    const res = await this.pool.query<DueRow>(
      `SELECT id, automatically_finalizes_at::text AS due FROM invoices
        WHERE status = 'draft' AND auto_advance AND test_clock IS NULL AND automatically_finalizes_at <= $1
        ORDER BY automatically_finalizes_at, id LIMIT $2`,
      [now, this.batchSize],
    );
    let failed = 0;
    await this.inTimeOrder(
      res.rows,
      () => now,
      (id, e) => {
        // Left as a draft: the next tick retries (every step is idempotent).
        failed++;
        this.logger?.warn({ err: e, invoice: id }, 'automatic finalization failed; will retry');
      },
    );
    return res.rows.length - failed;
  }
}
