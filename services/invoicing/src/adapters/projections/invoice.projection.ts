import type pg from 'pg';
import { copyQuery, copyRow, type PgEventStore, type StoredEvent } from '@meterflow/event-store';
import { evolveInvoice, type Invoice, type InvoiceState } from '../../domain/invoice.decider.js';
import { evolveInvoiceItem, renderInvoiceItem, type InvoiceItem, type InvoiceItemState } from '../../domain/invoice-item.decider.js';
import type { InvoiceEvent, InvoiceItemEvent, ProgressListener } from '@meterflow/contracts';
import { renderInvoice, renderLine } from '../../domain/invoice.render.js';
import { INVOICE_ITEM_STREAM, INVOICE_STREAM } from '../../application/streams.js';
import type { InvoiceProjections } from '../../application/ports.js';
import { twelveCharacterPrefixSql } from '../persistence/migrations.js';

type Db = pg.ClientBase;

/**
 * The read models are written in the same transaction as the events they come from (so a
 * reply can be read back at once) and are a pure function of the event store: `rebuild`
 * truncates them and replays every stream.
 */
/**
 * Many invoices in one statement (round trips are what a batch costs): the invoice rows, their
 * lines upserted, and lines no longer on them removed. Deleted invoices are removed (a second
 * statement, when there are any).
 *
 * With `before` (the state the rows were projected at, which the unit of work loaded), only the
 * lines that changed are written: evolve keeps an unchanged line's object (same object, same
 * position), and a line's row depends only on it and the invoice's id and subscription. A
 * finalization without credits then writes the invoice row alone (issue 12). Without it (a new
 * invoice, a rebuild) every line is written and any other line of the invoice removed.
 */
export async function projectInvoices(db: Db, list: readonly { inv: Invoice; version: number; before?: InvoiceState }[]): Promise<void> {
  const gone = list.filter((l) => l.inv.deleted).map((l) => l.inv.id);
  if (gone.length > 0)
    await db.query(
      'WITH gone AS (DELETE FROM invoice_lines WHERE invoice = ANY($1::text[])) DELETE FROM invoices WHERE id = ANY($1::text[])',
      [gone],
    );
  const live = list.filter((l) => !l.inv.deleted);
  if (live.length === 0) return;
  // Rows travel by COPY into two staging tables (issue 12): Postgres parses each invoice object
  // once, as the json column's input, where a json parameter read by json_to_recordset was lexed
  // whole, then de-escaped field by field, then parsed again as the column (500 invoices: ~26 ms
  // against ~49 ms, docs/benchmarks.md, eighth stop).
  let invoices = '';
  let lines = '';
  for (const { inv, version, before } of live) {
    const o = renderInvoice(inv);
    const was = before && !before.deleted ? before.lines : null;
    invoices += copyRow([
      inv.id,
      inv.customer,
      inv.subscription,
      inv.status,
      inv.collection_method,
      inv.currency,
      inv.test_clock,
      inv.auto_advance,
      o.automatically_finalizes_at,
      inv.created,
      o.total,
      o.amount_due,
      inv.idempotency_key,
      version,
      JSON.stringify(o),
      !was, // every line written: the invoice's other line rows are removed
    ]);
    inv.lines.forEach((l, i) => {
      if (was?.[i] !== l) lines += copyRow([l.id, inv.id, i, JSON.stringify(renderLine(inv, l)), false]);
    });
    if (was) {
      const ids = new Set(inv.lines.map((l) => l.id));
      for (const l of was) if (!ids.has(l.id)) lines += copyRow([l.id, inv.id, null, null, true]);
    }
  }
  await copyQuery(db, PROJECT_INVOICES_SQL, [Buffer.from(invoices), Buffer.from(lines)]);
}

/**
 * The staging tables, the two COPYs, then one statement: the invoice rows upserted (a stale
 * version loses), line rows no longer on an invoice removed, and the changed lines upserted. The
 * staging tables are per connection and truncated in place at every commit (`ON COMMIT DELETE
 * ROWS`): a `DELETE` alone leaves their dead rows behind, and every later use scans them (never
 * vacuumed: at 100,000 the emptying alone took 3.5 s, growing with each batch). The `DELETE` after
 * use is for a transaction that projects again (the rebuild's pages).
 */
const PROJECT_INVOICES_SQL = `CREATE TEMP TABLE IF NOT EXISTS mf_invoice_stage (id text, customer text, subscription text,
  status text, collection_method text, currency text, test_clock text, auto_advance bool, automatically_finalizes_at bigint,
  created bigint, total bigint, amount_due bigint, idempotency_key text, version int, object json, whole bool) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS mf_invoice_line_stage (id text, invoice text, position int, object json, remove bool) ON COMMIT DELETE ROWS;
COPY pg_temp.mf_invoice_stage FROM STDIN;
COPY pg_temp.mf_invoice_line_stage FROM STDIN;
WITH inv AS (
  INSERT INTO invoices (id, customer, subscription, status, collection_method, currency, test_clock, auto_advance,
     automatically_finalizes_at, created, total, amount_due, idempotency_key, version, object)
  SELECT id, customer, subscription, status, collection_method, currency, test_clock, auto_advance,
     automatically_finalizes_at, created, total, amount_due, idempotency_key, version, object
    FROM pg_temp.mf_invoice_stage
  ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, collection_method = EXCLUDED.collection_method,
     currency = EXCLUDED.currency, auto_advance = EXCLUDED.auto_advance,
     automatically_finalizes_at = EXCLUDED.automatically_finalizes_at, total = EXCLUDED.total,
     amount_due = EXCLUDED.amount_due, version = EXCLUDED.version, object = EXCLUDED.object
  WHERE invoices.version < EXCLUDED.version
), gone AS (
  -- The id lists as subquery arrays: with no statistics the planner would otherwise scan the
  -- whole table (at 100,000 invoices, every batch).
  DELETE FROM invoice_lines
   WHERE (invoice = ANY(ARRAY(SELECT id FROM pg_temp.mf_invoice_stage WHERE whole))
          AND NOT (id = ANY(ARRAY(SELECT id FROM pg_temp.mf_invoice_line_stage WHERE NOT remove))))
      OR id = ANY(ARRAY(SELECT id FROM pg_temp.mf_invoice_line_stage WHERE remove))
)
INSERT INTO invoice_lines (id, invoice, position, object)
SELECT id, invoice, position, object FROM pg_temp.mf_invoice_line_stage WHERE NOT remove
ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position, object = EXCLUDED.object;
DELETE FROM pg_temp.mf_invoice_stage;
DELETE FROM pg_temp.mf_invoice_line_stage`;

export async function projectInvoiceItem(db: Db, item: InvoiceItem, version: number): Promise<void> {
  await projectInvoiceItems(db, [{ item, version }]);
}

/** Many invoice items in one statement (deleted ones in a second, when there are any). */
export async function projectInvoiceItems(db: Db, list: readonly { item: InvoiceItem; version: number }[]): Promise<void> {
  const gone = list.filter((l) => l.item.deleted).map((l) => l.item.id);
  if (gone.length > 0) await db.query('DELETE FROM invoice_items WHERE id = ANY($1::text[])', [gone]);
  const live = list.filter((l) => !l.item.deleted);
  if (live.length === 0) return;
  await db.query(
    `INSERT INTO invoice_items (id, customer, subscription, invoice, currency, date, version, object)
     SELECT * FROM json_to_recordset($1::json) AS r(id text, customer text, subscription text, invoice text,
        currency text, date bigint, version int, object json)
     ON CONFLICT (id) DO UPDATE SET invoice = EXCLUDED.invoice, version = EXCLUDED.version, object = EXCLUDED.object
     WHERE invoice_items.version < EXCLUDED.version`,
    [
      JSON.stringify(
        live.map(({ item, version }) => ({
          id: item.id,
          customer: item.customer,
          subscription: item.subscription,
          invoice: item.invoice,
          currency: item.currency,
          date: item.date,
          version,
          object: renderInvoiceItem(item),
        })),
      ),
    ],
  );
}

/** The read models of the command pipeline's changes: each type's changes of a unit in one go. */
export const invoiceProjections: InvoiceProjections = {
  invoices: (tx, changes) =>
    projectInvoices(
      tx,
      changes.flatMap((c) => (c.after ? [{ inv: c.after, version: c.version, before: c.before }] : [])),
    ),
  items: (tx, changes) =>
    projectInvoiceItems(
      tx,
      changes.flatMap((c) => (c.after ? [{ item: c.after, version: c.version }] : [])),
    ),
};

const REBUILD_PAGE = 500;

/** Drop and replay: the rebuilt tables equal the live ones. */
export async function rebuildReadModels(
  store: PgEventStore,
  pageSize = 5_000,
  onProgress?: ProgressListener,
): Promise<{ invoices: number; items: number }> {
  const total = onProgress ? await store.lastPosition() : 0;
  const invoices = new Map<string, { s: InvoiceState; v: number }>();
  const items = new Map<string, { s: InvoiceItemState; v: number }>();
  let after = 0n;
  for (;;) {
    const page: StoredEvent[] = await store.readAll({ after, limit: pageSize });
    if (page.length === 0) break;
    for (const e of page) {
      after = e.globalPosition;
      if (e.streamId.startsWith(INVOICE_STREAM)) {
        const cur = invoices.get(e.streamId) ?? { s: null, v: 0 };
        invoices.set(e.streamId, { s: evolveInvoice(cur.s, e as unknown as InvoiceEvent), v: e.streamPosition });
      } else if (e.streamId.startsWith(INVOICE_ITEM_STREAM)) {
        const cur = items.get(e.streamId) ?? { s: null, v: 0 };
        items.set(e.streamId, { s: evolveInvoiceItem(cur.s, e as unknown as InvoiceItemEvent), v: e.streamPosition });
      }
    }
    onProgress?.({ phase: 'replay', done: Number(after), total, unit: 'events' });
  }
  return store.withTransaction(async (tx) => {
    await tx.query('TRUNCATE invoices, invoice_lines, invoice_items, invoice_number_counters');
    let ni = 0;
    let nii = 0;
    const objects = invoices.size + items.size;
    let seen = 0;
    const projected = () => onProgress?.({ phase: 'project', done: ++seen, total: objects, unit: 'objects' });
    // Invoices in pages (one COPY round trip each), as the pipeline projects a unit's changes.
    let page: { inv: Invoice; version: number }[] = [];
    const flush = async () => {
      await projectInvoices(tx, page);
      for (let i = 0; i < page.length; i++) projected();
      page = [];
    };
    for (const { s, v } of invoices.values()) {
      if (s) (page.push({ inv: s, version: v }), ni++);
      else projected();
      if (page.length >= REBUILD_PAGE) await flush();
    }
    await flush();
    for (const { s, v } of items.values()) {
      if (s) (await projectInvoiceItem(tx, s, v), nii++);
      projected();
    }
    // Each customer's numbering resumes after the highest number it has given, with that number's
    // prefix. Two customers whose numbers share one (given before prefixes were kept unique,
    // migration 0006) are told apart as the migration did: the second by id takes 12 characters.
    await tx.query(
      `INSERT INTO invoice_number_counters (customer, prefix, last)
       SELECT customer,
              CASE WHEN row_number() OVER (PARTITION BY prefix ORDER BY customer) = 1 THEN prefix
                   ELSE ${twelveCharacterPrefixSql('customer')} END,
              last
         FROM (SELECT DISTINCT ON (customer) customer, split_part(object->>'number', '-', 1) AS prefix,
                      split_part(object->>'number', '-', 2)::int AS last
                 FROM invoices WHERE object->>'number' IS NOT NULL
                ORDER BY customer, last DESC) x`,
    );
    return { invoices: ni, items: nii };
  });
}
