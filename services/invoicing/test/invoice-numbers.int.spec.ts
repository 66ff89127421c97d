import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { invoicePrefixCandidates } from '@meterflow/kernel';
import { applyMigrations } from '@meterflow/service-kit';
import { createTestDatabase, type TestDatabase } from '@meterflow/testing';
import { migrations } from '../src/adapters/persistence/migrations.js';
import { PgInvoiceRecords } from '../src/adapters/persistence/invoice-records.js';
import type { NumberRange } from '../src/application/ports.js';

/** Pairs of customer ids whose first (8-character) prefix candidates are equal: a birthday search. */
function collidingPairs(n: number): [string, string][] {
  const seen = new Map<string, string>();
  const pairs: [string, string][] = [];
  for (let i = 0; pairs.length < n; i++) {
    const id = `cus_numbers_${i}`;
    const first = invoicePrefixCandidates(id)[0]!;
    const other = seen.get(first);
    if (other !== undefined) pairs.push([other, id]);
    else seen.set(first, id);
  }
  return pairs;
}

describe('invoice numbers (invoice_number_counters on Postgres)', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  const records = new PgInvoiceRecords();
  const [[a, b], [d, e], [g, h]] = collidingPairs(3) as [[string, string], [string, string], [string, string]];
  const c = 'cus_numbers_alone';

  const reserve = async (counts: Record<string, number>): Promise<Map<string, NumberRange>> => {
    const tx = await pool.connect();
    try {
      await tx.query('BEGIN');
      const r = await records.reserveNumbers(tx, new Map(Object.entries(counts)));
      await tx.query('COMMIT');
      return r;
    } catch (err) {
      await tx.query('ROLLBACK');
      throw err;
    } finally {
      tx.release();
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    // Counters as numbering left them before prefixes were kept: a and b share their 8 characters.
    await applyMigrations(
      db.url,
      'invoicing',
      migrations.filter((m) => m.id < '0006'),
    );
    pool = new pg.Pool({ connectionString: db.url, options: '-c search_path=invoicing', max: 2 });
    await pool.query(`INSERT INTO invoice_number_counters (customer, last) VALUES ($1, 3), ($2, 1), ($3, 7)`, [a, b, c]);
    await applyMigrations(db.url, 'invoicing', migrations);
  });

  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('the migration keeps the prefix numbers carried; of two sharing one, the second by id takes 12 characters', async () => {
    const { rows } = await pool.query<{ customer: string; prefix: string; last: number }>(
      'SELECT customer, prefix, last FROM invoice_number_counters ORDER BY customer',
    );
    const [first, second] = [a, b].sort();
    expect(new Map(rows.map((r) => [r.customer, [r.prefix, r.last]]))).toEqual(
      new Map([
        [first!, [invoicePrefixCandidates(first!)[0], first === a ? 3 : 1]],
        [second!, [invoicePrefixCandidates(second!)[4], second === a ? 3 : 1]],
        [c, [invoicePrefixCandidates(c)[0], 7]],
      ]),
    );
  });

  it('customers numbered already go on with their prefix and sequence', async () => {
    const r = await reserve({ [a]: 2, [c]: 1 });
    expect(r.get(c)).toEqual({ prefix: invoicePrefixCandidates(c)[0], first: 8 });
    const { rows } = await pool.query<{ prefix: string }>('SELECT prefix FROM invoice_number_counters WHERE customer = $1', [a]);
    expect(r.get(a)).toEqual({ prefix: rows[0]!.prefix, first: 4 });
  });

  it('two new customers sharing a first candidate in one batch get distinct prefixes', async () => {
    const r = await reserve({ [d]: 1, [e]: 2 });
    const [first, second] = [d, e].sort();
    expect(r.get(first!)).toEqual({ prefix: invoicePrefixCandidates(first!)[0], first: 1 });
    expect(r.get(second!)).toEqual({ prefix: invoicePrefixCandidates(second!)[1], first: 1 });
  });

  it('a new customer whose first candidate another holds takes its next one, in a later transaction too', async () => {
    expect((await reserve({ [g]: 1 })).get(g)).toEqual({ prefix: invoicePrefixCandidates(g)[0], first: 1 });
    expect((await reserve({ [h]: 1 })).get(h)).toEqual({ prefix: invoicePrefixCandidates(h)[1], first: 1 });
    expect((await reserve({ [h]: 1, [g]: 1 })).get(h)).toEqual({ prefix: invoicePrefixCandidates(h)[1], first: 2 });
  });

  it('no two customers ever hold one prefix (the unique index)', async () => {
    const { rows } = await pool.query<{ n: number; distinct: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT prefix)::int AS distinct FROM invoice_number_counters',
    );
    expect(rows[0]).toEqual({ n: 7, distinct: 7 });
    await expect(
      pool.query(
        `INSERT INTO invoice_number_counters (customer, prefix, last) SELECT 'cus_other', prefix, 1 FROM invoice_number_counters LIMIT 1`,
      ),
    ).rejects.toThrow(/invoice_number_counters_prefix/);
  });

  // Issue 12: in a close the counters grow from none to one per customer and are never analyzed.
  // A batch then read them with a sequential scan (18.8 ms per batch of 500 at 100,000 counters),
  // growing with the customers. Its reads must probe the unique indexes, whatever the statistics.
  it('a batch reads the counters through their indexes, not a scan of every counter', async () => {
    await pool.query(
      `INSERT INTO invoice_number_counters (customer, prefix, last)
       SELECT 'cus_many_' || i, 'M' || upper(md5(i::text)), 1 FROM generate_series(1, 20000) i`,
    );
    const client = await pool.connect();
    const plans: string[] = [];
    const explaining = {
      query: async (text: string, values?: unknown[]) => {
        if (/^\s*SELECT/.test(text) && text.includes('invoice_number_counters'))
          plans.push(JSON.stringify((await client.query(`EXPLAIN (FORMAT JSON) ${text}`, values)).rows[0]));
        return client.query(text, values);
      },
    };
    try {
      await client.query('BEGIN');
      const batch = new Map(Array.from({ length: 500 }, (_, i) => [`cus_batch_${i}`, 1] as const));
      const r = await records.reserveNumbers(explaining as unknown as Parameters<PgInvoiceRecords['reserveNumbers']>[0], batch);
      expect(r.size).toBe(500);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    expect(plans.length).toBeGreaterThan(0);
    for (const plan of plans) {
      expect(plan).not.toContain('Seq Scan');
      expect(plan).toMatch(/invoice_number_counters_pkey/);
    }
  });
});
