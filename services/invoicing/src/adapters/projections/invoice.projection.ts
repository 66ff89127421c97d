import type pg from 'pg';
import type { PgEventStore, StoredEvent } from '@meterflow/event-store';
import { evolveInvoice, type Invoice, type InvoiceState } from '../../domain/invoice.decider.js';
import { evolveInvoiceItem, renderInvoiceItem, type InvoiceItem, type InvoiceItemState } from '../../domain/invoice-item.decider.js';
import type { InvoiceEvent, InvoiceItemEvent } from '@meterflow/contracts';
import { renderInvoice, renderLine } from '../../domain/invoice.render.js';
import { INVOICE_ITEM_STREAM, INVOICE_STREAM } from '../../application/streams.js';

type Db = Pick<pg.PoolClient, 'query'>;

/**
 * The read models are written in the same transaction as the events they come from (so a
 * reply can be read back at once) and are a pure function of the event store: `rebuild`
 * truncates them and replays every stream.
 */
export async function projectInvoice(db: Db, inv: Invoice, version: number): Promise<void> {
  if (inv.deleted) {
    await db.query('WITH gone AS (DELETE FROM invoice_lines WHERE invoice = $1) DELETE FROM invoices WHERE id = $1', [inv.id]);
    return;
  }
  const o = renderInvoice(inv);
  // One statement (round trips are what a finalization costs): the invoice row, its lines
  // upserted, and lines no longer on it removed.
  await db.query(
    `WITH inv AS (
       INSERT INTO invoices (id, customer, subscription, status, collection_method, currency, test_clock, auto_advance,
          automatically_finalizes_at, created, total, amount_due, idempotency_key, version, object)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, collection_method = EXCLUDED.collection_method,
          currency = EXCLUDED.currency, auto_advance = EXCLUDED.auto_advance,
          automatically_finalizes_at = EXCLUDED.automatically_finalizes_at, total = EXCLUDED.total,
          amount_due = EXCLUDED.amount_due, version = EXCLUDED.version, object = EXCLUDED.object
       WHERE invoices.version < EXCLUDED.version
     ), gone AS (
       DELETE FROM invoice_lines WHERE invoice = $1 AND NOT (id = ANY($16::text[]))
     )
     INSERT INTO invoice_lines (id, invoice, position, object)
     SELECT l.id, $1, l.pos, l.obj FROM unnest($16::text[], $17::int[], $18::jsonb[]) AS l(id, pos, obj)
     ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position, object = EXCLUDED.object`,
    [
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
      inv.lines.map((l) => l.id),
      inv.lines.map((_l, i) => i),
      inv.lines.map((l) => JSON.stringify(renderLine(inv, l))),
    ],
  );
}

export async function projectInvoiceItem(db: Db, item: InvoiceItem, version: number): Promise<void> {
  if (item.deleted) {
    await db.query('DELETE FROM invoice_items WHERE id = $1', [item.id]);
    return;
  }
  await db.query(
    `INSERT INTO invoice_items (id, customer, subscription, invoice, currency, date, version, object)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
     ON CONFLICT (id) DO UPDATE SET invoice = EXCLUDED.invoice, version = EXCLUDED.version, object = EXCLUDED.object
     WHERE invoice_items.version < EXCLUDED.version`,
    [item.id, item.customer, item.subscription, item.invoice, item.currency, item.date, version, JSON.stringify(renderInvoiceItem(item))],
  );
}

/** Drop and replay: the rebuilt tables equal the live ones. */
export async function rebuildReadModels(store: PgEventStore, pageSize = 5_000): Promise<{ invoices: number; items: number }> {
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
  }
  return store.withTransaction(async (tx) => {
    await tx.query('TRUNCATE invoices, invoice_lines, invoice_items, invoice_number_counters');
    let ni = 0;
    let nii = 0;
    for (const { s, v } of invoices.values()) if (s) (await projectInvoice(tx, s, v), ni++);
    for (const { s, v } of items.values()) if (s) (await projectInvoiceItem(tx, s, v), nii++);
    // Each customer's numbering resumes after the highest number it has given.
    await tx.query(
      `INSERT INTO invoice_number_counters (customer, last)
       SELECT customer, max(split_part(object->>'number', '-', 2)::int) FROM invoices
        WHERE object->>'number' IS NOT NULL GROUP BY customer`,
    );
    return { invoices: ni, items: nii };
  });
}
