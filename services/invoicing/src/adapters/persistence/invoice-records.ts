import type pg from 'pg';
import { firstInvoicePrefix, invoicePrefixCandidates } from '@meterflow/kernel';
import { assignPrefixes } from '../../domain/invoice-prefixes.js';
import type { ClosePart, DueDrafts, InvoiceRecords, NumberRange, PendingItemReads, Tx } from '../../application/ports.js';

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

  async invoicesByKey(tx: Tx, keys: readonly string[]): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map();
    const res = await tx.query<{ key: string; id: string }>(
      'SELECT idempotency_key AS key, id FROM invoices WHERE idempotency_key = ANY($1::text[])',
      [keys],
    );
    return new Map(res.rows.map((r) => [r.key, r.id]));
  }

  /** The numbers themselves are recorded in `InvoiceFinalized`; the counters are rebuilt from those. */
  async reserveNumbers(tx: Tx, counts: ReadonlyMap<string, number>): Promise<Map<string, NumberRange>> {
    if (counts.size === 0) return new Map();
    const customers = [...counts.keys()].sort();
    // A customer numbering for the first time gets the first of its candidate prefixes that no
    // other customer holds (`assignPrefixes`, on the counters' rows read here). The unique index
    // settles a race with another transaction giving the same prefix to another customer: this
    // unit fails (a close then finalizes the batch's invoices one by one, each reading afresh).
    const first = new Map(customers.map((c) => [c, firstInvoicePrefix(c)]));
    // The keys as subquery arrays (the planner cannot size them, so it probes both unique
    // indexes). With literal arrays it scanned every counter: the table grows from empty during a
    // close and is never analyzed (docs/benchmarks.md, eighth stop).
    const seen = await tx.query<{ customer: string; prefix: string }>(
      `SELECT customer, prefix FROM invoice_number_counters
        WHERE customer = ANY(ARRAY(SELECT unnest($1::text[]))) OR prefix = ANY(ARRAY(SELECT unnest($2::text[])))`,
      [customers, [...first.values()]],
    );
    const held = new Map(seen.rows.map((r) => [r.customer, r.prefix]));
    const taken = new Set(seen.rows.map((r) => r.prefix));
    const { assigned, unassigned } = assignPrefixes(customers, held, taken, (c) => [first.get(c)!]);
    if (unassigned.length > 0) {
      // Rare (8 hex characters share a value about once per 100,000 customers): the longer ones.
      const longer = new Map(unassigned.map((c) => [c, invoicePrefixCandidates(c).slice(1)]));
      const more = await tx.query<{ prefix: string }>(
        `SELECT prefix FROM invoice_number_counters WHERE prefix = ANY(ARRAY(SELECT unnest($1::text[])))`,
        [[...longer.values()].flat()],
      );
      const rest = assignPrefixes(unassigned, held, new Set([...taken, ...assigned.values(), ...more.rows.map((r) => r.prefix)]), (c) =>
        longer.get(c)!,
      );
      if (rest.unassigned.length > 0) throw new Error(`invoice numbers: no free prefix for customer ${rest.unassigned[0]}`);
      for (const [c, p] of rest.assigned) assigned.set(c, p);
    }
    const res = await tx.query<{ customer: string; prefix: string; last: number }>(
      `INSERT INTO invoice_number_counters (customer, prefix, last)
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) ORDER BY 1
       ON CONFLICT (customer) DO UPDATE SET last = invoice_number_counters.last + EXCLUDED.last
       RETURNING customer, prefix, last`,
      [customers, customers.map((c) => assigned.get(c)!), customers.map((c) => counts.get(c)!)],
    );
    return new Map(res.rows.map((r) => [r.customer, { prefix: r.prefix, first: r.last - counts.get(r.customer)! + 1 }]));
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
