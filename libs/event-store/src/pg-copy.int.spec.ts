import pg from 'pg';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@meterflow/testing';
import { copyQuery, copyRow } from './index.js';

/*
 * COPY's text format is how the ingestion writer and the invoice projection send rows (issue 12):
 * whatever a row holds (tabs, newlines, backslashes, `\N` as text, any Unicode but NUL, which
 * Postgres text cannot hold) must come back from the table exactly as sent, and several COPYs in
 * one query string are fed their own buffers, in order, inside the caller's transaction.
 */

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const text = fc.string({ unit: 'grapheme', maxLength: 24 }).filter((s) => !s.includes('\u0000'));
const nasty = fc.constantFrom('\\N', '\\', '\t', '\n', '\r', '\\t', 'a\\\tb\nc', '');
const field = fc.option(fc.oneof(text, nasty), { nil: null });
const row = fc.record({
  a: field,
  n: fc.option(fc.integer(), { nil: null }),
  b: fc.option(fc.boolean(), { nil: null }),
  j: fc.dictionary(fc.oneof(text, nasty), fc.oneof(text, nasty, fc.integer())),
});

const SQL = `CREATE TEMP TABLE IF NOT EXISTS copy_a (i int, a text, n bigint, b bool, j json);
CREATE TEMP TABLE IF NOT EXISTS copy_b (i int, a text);
COPY pg_temp.copy_a FROM STDIN;
COPY pg_temp.copy_b FROM STDIN;
SELECT count(*)::text FROM pg_temp.copy_a`;

describe('COPY text format (copyRow, copyQuery)', () => {
  it('rows come back exactly as sent, each COPY fed its own buffer, in the caller transaction', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { maxLength: 20 }), fc.array(field, { maxLength: 5 }), async (rows, others) => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const a = rows.map((r, i) => copyRow([i, r.a, r.n, r.b, JSON.stringify(r.j)])).join('');
          const b = others.map((o, i) => copyRow([i, o])).join('');
          const counted = await copyQuery(client, SQL, [Buffer.from(a), Buffer.from(b)]);
          expect(counted).toEqual([String(rows.length)]);
          // The json column as text: the very JSON sent (not parsed back: see the note on Node
          // 24.21's JSON.parse in docs/benchmarks.md, eighth stop).
          const got = await client.query<{ a: string | null; n: string | null; b: boolean | null; j: string }>(
            'SELECT a, n::text AS n, b, j::text AS j FROM pg_temp.copy_a ORDER BY i',
          );
          expect(got.rows).toEqual(rows.map((r) => ({ a: r.a, n: r.n === null ? null : String(r.n), b: r.b, j: JSON.stringify(r.j) })));
          const gotB = await client.query<{ a: string | null }>('SELECT a FROM pg_temp.copy_b ORDER BY i');
          expect(gotB.rows.map((r) => r.a)).toEqual(others);
        } finally {
          await client.query('ROLLBACK');
          client.release();
        }
      }),
      { numRuns: 60 },
    );
  });

  // The data goes right behind the query string, without waiting for each COPY to start: a
  // string that fails before, inside or after a COPY must leave the connection in step, and a
  // COPY with no buffer of its own gets none.
  it('a failing query string leaves the connection usable, whichever statement fails', async () => {
    const client = await pool.connect();
    try {
      const setup = 'CREATE TEMP TABLE IF NOT EXISTS copy_c (i int, a text);';
      const rows = Buffer.from('1\tone\n2\ttwo\n');
      const fails = [
        // before the COPY: its data arrives outside a COPY and is ignored
        `${setup} SELECT 1/0; COPY pg_temp.copy_c FROM STDIN; SELECT count(*)::text FROM pg_temp.copy_c`,
        // inside it: a row that is not an int
        `${setup} COPY pg_temp.copy_c FROM STDIN; SELECT count(*)::text FROM pg_temp.copy_c`,
        // after it
        `${setup} COPY pg_temp.copy_c FROM STDIN; SELECT 1/0`,
      ];
      const data = [rows, Buffer.from('x\tbad\n'), rows];
      // how many rows a fresh table holds after `copies` COPYs fed `buffer`
      const counted = async (buffer: Buffer, copies = 1) =>
        copyQuery(
          client,
          `${setup} TRUNCATE pg_temp.copy_c; ${'COPY pg_temp.copy_c FROM STDIN; '.repeat(copies)}SELECT count(*)::text FROM pg_temp.copy_c`,
          buffer,
        );
      for (const [k, sql] of fails.entries()) {
        await expect(copyQuery(client, sql, k === 1 ? [data[1]!, rows] : [data[k]!, rows])).rejects.toThrow(
          /division by zero|invalid input/,
        );
        // in step: the next queries answer their own results
        expect((await client.query<{ n: string }>("SELECT 'after'::text AS n")).rows).toEqual([{ n: 'after' }]);
        expect(await counted(rows)).toEqual(['2']);
      }
      // two COPYs, one buffer: the second COPY gets no rows
      expect(await counted(rows, 2)).toEqual(['2']);
      // a buffer larger than one chunk (64 KiB) arrives whole
      const big = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `${i}\t${'x'.repeat(10)}\n`).join(''));
      expect(await counted(big)).toEqual(['20000']);
    } finally {
      client.release();
    }
  });
});
