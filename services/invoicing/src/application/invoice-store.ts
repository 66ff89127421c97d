import type pg from 'pg';
import { InvoiceKeyClaimed, stripeEvent, type InvoiceEvent, type InvoiceItemEvent } from '@meterflow/contracts';
import { VersionConflictError, quoteIdent, type NewEvent, type PgEventStore } from '@meterflow/event-store';
import { newId, notFound } from '@meterflow/kernel';
import { decideInvoice, evolveInvoice, stripeTypesFor, type Invoice, type InvoiceCommand, type InvoiceState } from '../domain/invoice.decider.js';
import {
  decideInvoiceItem,
  evolveInvoiceItem,
  renderInvoiceItem,
  type InvoiceItem,
  type InvoiceItemCommand,
  type InvoiceItemState,
} from '../domain/invoice-item.decider.js';
import { invoiceNumber, renderInvoice } from '../domain/invoice.render.js';
import { projectInvoice, projectInvoiceItem } from '../adapters/projections/invoice.projection.js';
import { invoiceItemStream, invoiceKeyStream, invoiceStream } from './streams.js';

/** What one command on one invoice would append, and the invoice after it. */
export interface PlannedChange {
  id: string;
  state: Invoice;
  fromVersion: number;
  events: NewEvent[];
}

export interface RequestContext {
  requestId?: string | null;
  idempotencyKey?: string | null;
}

const eventTime = (e: InvoiceEvent): number => (e.type === 'InvoiceCreated' ? e.data.created : e.data.at);

/** Stripe's `previous_attributes` of an `*.updated` event: the old values of the top-level fields that changed. */
function changedAttributes(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(before)) if (JSON.stringify(v) !== JSON.stringify(after[k])) out[k] = v;
  return out;
}

/**
 * Load -> decide -> append (with the Stripe events each change is announced as) -> project,
 * all inside the caller's transaction.
 */
export class InvoiceStore {
  constructor(readonly events: PgEventStore) {}

  /**
   * Run `fn` in one transaction; retried when another writer moved a stream first (`attempt`
   * tells `fn` whether state it loaded before may be used: only on the first attempt).
   */
  async transaction<T>(fn: (tx: pg.PoolClient, attempt: number) => Promise<T>, attempts = 4): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await this.events.withTransaction((tx) => fn(tx, i));
      } catch (e) {
        if (e instanceof VersionConflictError && i < attempts) continue;
        throw e;
      }
    }
  }

  async loadInvoice(id: string, tx?: pg.PoolClient): Promise<{ state: InvoiceState; version: number }> {
    const history = await this.events.readStream(invoiceStream(id), { tx });
    const state = history.reduce<InvoiceState>((s, e) => evolveInvoice(s, e as unknown as InvoiceEvent), null);
    return { state, version: history.at(-1)?.streamPosition ?? 0 };
  }

  async getInvoice(id: string, tx?: pg.PoolClient): Promise<Invoice> {
    const { state } = await this.loadInvoice(id, tx);
    if (!state || state.deleted) throw notFound('invoice', id);
    return state;
  }

  async execInvoice(tx: pg.PoolClient, id: string, command: InvoiceCommand, ctx: RequestContext = {}): Promise<Invoice> {
    return (await this.execInvoiceAt(tx, id, command, ctx)).state;
  }

  /**
   * `loaded`: the stream as the caller already read it (skips a read; a stale one fails the
   * append with a version conflict). A new invoice's stream is known to be empty.
   */
  async execInvoiceAt(
    tx: pg.PoolClient,
    id: string,
    command: InvoiceCommand,
    ctx: RequestContext = {},
    loaded?: { state: InvoiceState; version: number },
    opts: { project?: boolean } = {},
  ): Promise<{ state: Invoice; version: number }> {
    const current = loaded ?? (command.type === 'CreateInvoice' ? { state: null, version: 0 } : await this.loadInvoice(id, tx));
    const change = this.planInvoice(id, current, command, ctx);
    if (change.events.length === 0) return { state: change.state, version: change.fromVersion };
    const { nextVersion } = await this.events.append(invoiceStream(id), change.fromVersion, change.events, { tx });
    // A caller making several changes in one transaction projects the last one only.
    if (opts.project !== false) await projectInvoice(tx, change.state, nextVersion);
    return { state: change.state, version: nextVersion };
  }

  /** decide + evolve + the Stripe events announcing each change: what an append would write. */
  planInvoice(id: string, current: { state: InvoiceState; version: number }, command: InvoiceCommand, ctx: RequestContext = {}): PlannedChange {
    let state = current.state;
    if ((!state || state.deleted) && command.type !== 'CreateInvoice') throw notFound('invoice', id);
    const decided = decideInvoice(command, state);
    const toAppend: NewEvent[] = [];
    for (const e of decided) {
      const types = stripeTypesFor(e);
      const before = state && !state.deleted && types.some((t) => t.endsWith('.updated')) ? (renderInvoice(state) as unknown as Record<string, unknown>) : null;
      state = evolveInvoice(state, e);
      toAppend.push(e);
      for (const type of types) {
        const object = renderInvoice(state!) as unknown as Record<string, unknown>;
        const previousAttributes = type.endsWith('.updated') && before ? changedAttributes(before, object) : undefined;
        toAppend.push(
          stripeEvent(newId('event'), type, object, eventTime(e), {
            requestId: ctx.requestId ?? null,
            idempotencyKey: ctx.idempotencyKey ?? null,
            ...(previousAttributes ? { previousAttributes } : {}),
          }),
        );
      }
    }
    return { id, state: state!, fromVersion: current.version, events: toAppend };
  }

  /** Many invoice streams in one query (for batches). */
  async loadInvoices(ids: readonly string[]): Promise<Map<string, { state: InvoiceState; version: number }>> {
    const out = new Map<string, { state: InvoiceState; version: number }>(ids.map((id) => [id, { state: null, version: 0 }]));
    if (ids.length === 0) return out;
    const res = await this.events.pool.query<{ stream_id: string; stream_position: number; type: string; data: unknown }>(
      `SELECT stream_id, stream_position, type, data FROM ${quoteIdent(this.events.schema)}.events
        WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, stream_position`,
      [ids.map(invoiceStream)],
    );
    for (const r of res.rows) {
      const id = r.stream_id.slice(invoiceStream('').length);
      const cur = out.get(id)!;
      out.set(id, { state: evolveInvoice(cur.state, { type: r.type, data: r.data } as InvoiceEvent), version: r.stream_position });
    }
    return out;
  }

  /**
   * Appends planned changes of many invoices in one statement and projects them. Each stream is
   * appended at its planned version, so a stream someone else moved meanwhile fails the whole
   * statement with a `VersionConflictError` naming it (the caller's transaction then rolls back,
   * hence no savepoint).
   */
  async appendPlanned(tx: pg.PoolClient, changes: readonly PlannedChange[]): Promise<void> {
    const batches = changes
      .filter((c) => c.events.length > 0)
      .map((c) => ({ streamId: invoiceStream(c.id), expected: c.fromVersion === 0 ? ('no_stream' as const) : c.fromVersion, events: c.events }));
    if (batches.length === 0) return;
    await this.events.appendMany(batches, { tx, savepoint: false });
    for (const c of changes) if (c.events.length > 0) await projectInvoice(tx, c.state, c.fromVersion + c.events.length);
  }

  /** Reserve `n` consecutive invoice numbers per customer in this transaction; returns the first sequence of each. */
  async reserveNumbers(tx: pg.PoolClient, counts: ReadonlyMap<string, number>): Promise<Map<string, number>> {
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

  async loadItem(id: string, tx?: pg.PoolClient): Promise<{ state: InvoiceItemState; version: number }> {
    const history = await this.events.readStream(invoiceItemStream(id), { tx });
    const state = history.reduce<InvoiceItemState>((s, e) => evolveInvoiceItem(s, e as unknown as InvoiceItemEvent), null);
    return { state, version: history.at(-1)?.streamPosition ?? 0 };
  }

  async getItem(id: string, tx?: pg.PoolClient): Promise<InvoiceItem> {
    const { state } = await this.loadItem(id, tx);
    if (!state || state.deleted) throw notFound('invoiceitem', id);
    return state;
  }

  async execItem(tx: pg.PoolClient, id: string, command: InvoiceItemCommand, at: number, ctx: RequestContext = {}): Promise<InvoiceItem> {
    let { state, version } = await this.loadItem(id, tx);
    if ((!state || state.deleted) && command.type !== 'CreateInvoiceItem') throw notFound('invoiceitem', id);
    const decided = decideInvoiceItem(command, state);
    if (decided.length === 0) return state!;
    const toAppend: NewEvent[] = [];
    for (const e of decided) {
      state = evolveInvoiceItem(state, e);
      toAppend.push(e);
      const type = e.type === 'InvoiceItemCreated' ? 'invoiceitem.created' : e.type === 'InvoiceItemDeleted' ? 'invoiceitem.deleted' : null;
      if (type) {
        const object = renderInvoiceItem(state!) as unknown as Record<string, unknown>;
        toAppend.push(stripeEvent(newId('event'), type, object, at, { requestId: ctx.requestId ?? null, idempotencyKey: ctx.idempotencyKey ?? null }));
      }
    }
    const { nextVersion } = await this.events.append(invoiceItemStream(id), version, toAppend, { tx });
    await projectInvoiceItem(tx, state!, nextVersion);
    return state!;
  }

  /** The invoice a subscription idempotency key already made, if any. */
  async invoiceForKey(key: string, tx?: pg.PoolClient): Promise<string | null> {
    const events = await this.events.readStream(invoiceKeyStream(key), { tx });
    return (events[0]?.data as { invoice?: string } | undefined)?.invoice ?? null;
  }

  /** First writer wins: a VersionConflictError means the key is taken. */
  async claimKey(tx: pg.PoolClient, key: string, invoice: string): Promise<void> {
    await this.events.append(invoiceKeyStream(key), 'no_stream', [InvoiceKeyClaimed({ key, invoice })], { tx });
  }

  /**
   * The customer's next invoice number, reserved in this transaction (the counter row is locked
   * until commit, so concurrent finalizations of one customer take turns). The number itself is
   * recorded in `InvoiceFinalized`; the counter is rebuilt from those.
   */
  async nextNumber(tx: pg.PoolClient, customer: string): Promise<string> {
    const res = await tx.query<{ last: number }>(
      `INSERT INTO invoice_number_counters (customer, last) VALUES ($1, 1)
       ON CONFLICT (customer) DO UPDATE SET last = invoice_number_counters.last + 1 RETURNING last`,
      [customer],
    );
    return invoiceNumber(customer, res.rows[0]!.last);
  }

  /** Pending items (not yet on an invoice) of a customer, oldest first. */
  async pendingItems(tx: pg.PoolClient, customer: string, subscription: string | null): Promise<InvoiceItem[]> {
    const res = await tx.query<{ id: string }>(
      `SELECT id FROM invoice_items WHERE customer = $1 AND invoice IS NULL
         AND (subscription IS NULL OR subscription = $2) ORDER BY id FOR UPDATE`,
      [customer, subscription],
    );
    const out: InvoiceItem[] = [];
    for (const r of res.rows) out.push(await this.getItem(r.id, tx));
    return out;
  }
}
