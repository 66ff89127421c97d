import type pg from 'pg';
import { InvoiceKeyClaimed, stripeEvent, type InvoiceEvent, type InvoiceItemEvent } from '@meterflow/contracts';
import {
  VersionConflictError,
  quoteIdent,
  type AppendBatch,
  type NewEvent,
  type PgEventStore,
  type StoredEvent,
} from '@meterflow/event-store';
import { newId, notFound } from '@meterflow/kernel';
import {
  decideInvoice,
  evolveInvoice,
  stripeTypesFor,
  type Invoice,
  type InvoiceCommand,
  type InvoiceState,
} from '../domain/invoice.decider.js';
import {
  decideInvoiceItem,
  evolveInvoiceItem,
  renderInvoiceItem,
  type InvoiceItem,
  type InvoiceItemCommand,
  type InvoiceItemState,
} from '../domain/invoice-item.decider.js';
import { invoiceNumber, renderInvoice } from '../domain/invoice.render.js';
import { projectInvoice, projectInvoiceItem, projectInvoiceItems, projectInvoices } from '../adapters/projections/invoice.projection.js';
import { invoiceItemStream, invoiceKeyStream, invoiceStream } from './streams.js';

/** What one command on one invoice would append, and the invoice after it. */
export interface PlannedChange {
  id: string;
  state: Invoice;
  fromVersion: number;
  events: NewEvent[];
}

/** What one command on one invoice item would append, and the item after it. */
export interface PlannedItemChange {
  id: string;
  state: InvoiceItem;
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
  planInvoice(
    id: string,
    current: { state: InvoiceState; version: number },
    command: InvoiceCommand,
    ctx: RequestContext = {},
  ): PlannedChange {
    let state = current.state;
    if ((!state || state.deleted) && command.type !== 'CreateInvoice') throw notFound('invoice', id);
    const decided = decideInvoice(command, state);
    const toAppend: NewEvent[] = [];
    for (const e of decided) {
      const types = stripeTypesFor(e);
      const before =
        state && !state.deleted && types.some((t) => t.endsWith('.updated'))
          ? (renderInvoice(state) as unknown as Record<string, unknown>)
          : null;
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
  loadInvoices(ids: readonly string[], tx?: pg.PoolClient): Promise<Map<string, { state: InvoiceState; version: number }>> {
    return this.loadMany(ids, invoiceStream, (s, e) => evolveInvoice(s, e as unknown as InvoiceEvent), tx);
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
      .map((c) => ({
        streamId: invoiceStream(c.id),
        expected: c.fromVersion === 0 ? ('no_stream' as const) : c.fromVersion,
        events: c.events,
      }));
    if (batches.length === 0) return;
    await this.events.appendMany(batches, { tx, savepoint: false });
    await projectInvoices(
      tx,
      changes.filter((c) => c.events.length > 0).map((c) => ({ inv: c.state, version: c.fromVersion + c.events.length })),
    );
  }

  /**
   * New subscription invoices, their key claims and the pending items they take, all in one
   * `appendMany` (so all or nothing; any stream moved meanwhile fails it with a
   * `VersionConflictError`, the caller's transaction rolling back) and two projection statements.
   */
  async appendCreated(
    tx: pg.PoolClient,
    created: readonly { key: string; invoice: PlannedChange; items: readonly PlannedItemChange[] }[],
  ): Promise<void> {
    if (created.length === 0) return;
    // Key claims first, in key order: concurrent batches over the same keys then wait on each
    // other in one order (a version conflict, retried) instead of deadlocking.
    const batches: AppendBatch[] = [...created]
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((c) => ({
        streamId: invoiceKeyStream(c.key),
        expected: 'no_stream' as const,
        events: [InvoiceKeyClaimed({ key: c.key, invoice: c.invoice.id })],
      }));
    for (const c of created) {
      batches.push({ streamId: invoiceStream(c.invoice.id), expected: 'no_stream', events: c.invoice.events });
      for (const i of c.items)
        if (i.events.length > 0)
          batches.push({
            streamId: invoiceItemStream(i.id),
            expected: i.fromVersion === 0 ? 'no_stream' : i.fromVersion,
            events: i.events,
          });
    }
    await this.events.appendMany(batches, { tx, savepoint: false });
    await projectInvoices(
      tx,
      created.map((c) => ({ inv: c.invoice.state, version: c.invoice.events.length })),
    );
    const items = created.flatMap((c) => c.items.filter((i) => i.events.length > 0));
    await projectInvoiceItems(
      tx,
      items.map((i) => ({ item: i.state, version: i.fromVersion + i.events.length })),
    );
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
    const change = this.planItem(id, await this.loadItem(id, tx), command, at, ctx);
    if (change.events.length === 0) return change.state;
    const { nextVersion } = await this.events.append(invoiceItemStream(id), change.fromVersion, change.events, { tx });
    await projectInvoiceItem(tx, change.state, nextVersion);
    return change.state;
  }

  /** decide + evolve + the Stripe events announcing the change: what an item append would write. */
  planItem(
    id: string,
    current: { state: InvoiceItemState; version: number },
    command: InvoiceItemCommand,
    at: number,
    ctx: RequestContext = {},
  ): PlannedItemChange {
    let state = current.state;
    if ((!state || state.deleted) && command.type !== 'CreateInvoiceItem') throw notFound('invoiceitem', id);
    const decided = decideInvoiceItem(command, state);
    const toAppend: NewEvent[] = [];
    for (const e of decided) {
      state = evolveInvoiceItem(state, e);
      toAppend.push(e);
      const type = e.type === 'InvoiceItemCreated' ? 'invoiceitem.created' : e.type === 'InvoiceItemDeleted' ? 'invoiceitem.deleted' : null;
      if (type) {
        const object = renderInvoiceItem(state!) as unknown as Record<string, unknown>;
        toAppend.push(
          stripeEvent(newId('event'), type, object, at, { requestId: ctx.requestId ?? null, idempotencyKey: ctx.idempotencyKey ?? null }),
        );
      }
    }
    return { id, state: state!, fromVersion: current.version, events: toAppend };
  }

  /** Many item streams in one query. */
  loadItems(ids: readonly string[], tx?: pg.PoolClient): Promise<Map<string, { state: InvoiceItemState; version: number }>> {
    return this.loadMany(ids, invoiceItemStream, (s, e) => evolveInvoiceItem(s, e as unknown as InvoiceItemEvent), tx);
  }

  /** Fold many streams read in one query: id -> state and version. */
  private async loadMany<S>(
    ids: readonly string[],
    stream: (id: string) => string,
    evolve: (s: S | null, e: StoredEvent) => S | null,
    tx?: pg.PoolClient,
  ): Promise<Map<string, { state: S | null; version: number }>> {
    const streams = await this.events.readStreams(ids.map(stream), { tx });
    return new Map(
      ids.map((id) => {
        const history = streams.get(stream(id)) ?? [];
        return [id, { state: history.reduce<S | null>(evolve, null), version: history.at(-1)?.streamPosition ?? 0 }];
      }),
    );
  }

  /** The invoices subscription idempotency keys already made (keys not yet claimed are absent). */
  async invoicesForKeys(keys: readonly string[], tx?: pg.PoolClient): Promise<Map<string, string>> {
    if (keys.length === 0) return new Map();
    const res = await (tx ?? this.events.pool).query<{ data: { key: string; invoice: string } }>(
      `SELECT data FROM ${quoteIdent(this.events.schema)}.events WHERE stream_id = ANY($1::text[]) AND stream_position = 1`,
      [keys.map(invoiceKeyStream)],
    );
    return new Map(res.rows.map((r) => [r.data.key, r.data.invoice]));
  }

  /**
   * Pending items (not yet on an invoice) that could go on an invoice of one of these
   * (customer, subscription) pairs: the customer's items of that subscription or of none. Locked
   * for this transaction, oldest first, with their streams (one query for the rows, one for the
   * streams).
   */
  async pendingItemsFor(
    tx: pg.PoolClient,
    pairs: readonly { customer: string; subscription: string | null }[],
  ): Promise<{ item: InvoiceItem; version: number }[]> {
    if (pairs.length === 0) return [];
    const res = await tx.query<{ id: string }>(
      `SELECT id FROM invoice_items i WHERE invoice IS NULL
          AND EXISTS (SELECT 1 FROM unnest($1::text[], $2::text[]) AS p(customer, subscription)
                       WHERE p.customer = i.customer AND (i.subscription IS NULL OR i.subscription = p.subscription))
        ORDER BY id FOR UPDATE`,
      [pairs.map((p) => p.customer), pairs.map((p) => p.subscription)],
    );
    const loaded = await this.loadItems(
      res.rows.map((r) => r.id),
      tx,
    );
    const out: { item: InvoiceItem; version: number }[] = [];
    for (const r of res.rows) {
      const l = loaded.get(r.id)!;
      if (l.state && !l.state.deleted) out.push({ item: l.state, version: l.version });
    }
    return out;
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
