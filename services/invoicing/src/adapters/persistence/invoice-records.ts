import type pg from 'pg';
import type { ClosePart, DueDrafts, InvoiceRecords, PendingItemReads, Tx } from '../../application/ports.js';

/** The write path's SQL on the read models: pending items (locked), invoice-number counters. */
export class PgInvoiceRecords implements InvoiceRecords {
  async pendingItemIds(tx: Tx, pairs: readonly { customer: string; subscription: string | null }[]): Promise<string[]> {
    if (pairs.length === 0) return [];
    const res = await tx.query<{ id: string }>(
      `SELECT id FROM invoice_items i WHERE invoice IS NULL
          AND EXISTS (SELECT 1 FROM unnest($1::text[], $2::text[]) AS p(customer, subscription)
                       WHERE p.customer = i.customer AND (i.subscription IS NULL OR i.subscription = p.subscription))
        ORDER BY id FOR UPDATE`,
      [pairs.map((p) => p.customer), pairs.map((p) => p.subscription)],
    );
    return res.rows.map((r) => r.id);
  }

  /** The numbers themselves are recorded in `InvoiceFinalized`; the counters are rebuilt from those. */
  async reserveNumbers(tx: Tx, counts: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    if (counts.size === 0) return new Map();
    const customers = [...counts.keys()];
    const res = await tx.query<{ customer: string; last: number }>(
      `INSERT INTO invoice_number_counters (customer, last)
       SELECT * FROM unnest($1::text[], $2::int[]) ORDER BY 1
       ON CONFLICT (customer) DO UPDATE SET last = invoice_number_counters.last + EXCLUDED.last
       RETURNING customer, last`,
      [customers, customers.map((c) => counts.get(c)!)],
    );
    return new Map(res.rows.map((r) => [r.customer, r.last - counts.get(r.customer)! + 1]));
  }
}

/** Drafts due for automatic finalization (index on test_clock, due time, id). */
export class PgDueDrafts implements DueDrafts {
  constructor(private readonly pool: pg.Pool) {}

  async earliest(clock: string, upTo: number): Promise<number | null> {
    const res = await this.pool.query<{ at: string | null }>(
      `SELECT min(automatically_finalizes_at)::text AS at FROM invoices
        WHERE status = 'draft' AND auto_advance AND test_clock = $1 AND automatically_finalizes_at <= $2`,
      [clock, upTo],
    );
    const at = res.rows[0]?.at;
    return at == null ? null : Number(at);
  }

  async due(clock: string | null, upTo: number, limit: number, part?: ClosePart): Promise<{ id: string; due: number }[]> {
    // A part: customers whose hashtext, shifted to [0, 2^32), is `partition` modulo `partitions` (1 part: every customer).
    const { partition, partitions } = part ?? { partition: 0, partitions: 1 };
    const inPart = (p: number) => (partitions > 1 ? `AND mod(hashtext(customer)::bigint + 2147483648, $${p}::int) = $${p + 1}::int` : '');
    const res =
      clock === null
        ? await this.pool.query<{ id: string; due: string }>(
            `SELECT id, automatically_finalizes_at::text AS due FROM invoices
              WHERE status = 'draft' AND auto_advance AND test_clock IS NULL AND automatically_finalizes_at <= $1 ${inPart(3)}
              ORDER BY automatically_finalizes_at, id LIMIT $2`,
            partitions > 1 ? [upTo, limit, partitions, partition] : [upTo, limit],
          )
        : await this.pool.query<{ id: string; due: string }>(
            `SELECT id, automatically_finalizes_at::text AS due FROM invoices
              WHERE status = 'draft' AND auto_advance AND test_clock = $1 AND automatically_finalizes_at <= $2 ${inPart(4)}
              ORDER BY automatically_finalizes_at, id LIMIT $3`,
            partitions > 1 ? [clock, upTo, limit, partitions, partition] : [clock, upTo, limit],
          );
    return res.rows.map((r) => ({ id: r.id, due: Number(r.due) }));
  }
}

/** Pending items for a preview: the same rows `pendingItemIds` locks, read without a lock. */
export class PgPendingItemReads implements PendingItemReads {
  constructor(private readonly pool: pg.Pool) {}

  async pendingItemIds(customer: string, subscription: string | null): Promise<string[]> {
    const res = await this.pool.query<{ id: string }>(
      `SELECT id FROM invoice_items WHERE invoice IS NULL AND customer = $1 AND (subscription IS NULL OR subscription = $2) ORDER BY id`,
      [customer, subscription],
    );
    return res.rows.map((r) => r.id);
  }
}
