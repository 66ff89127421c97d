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
});
