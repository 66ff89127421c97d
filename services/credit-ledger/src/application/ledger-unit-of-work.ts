import type pg from 'pg';
import { stripeEvent, type CreditGrantEvent } from '@meterflow/contracts';
import {
  quoteIdent,
  VersionConflictError,
  type AppendBatch,
  type ExpectedVersion,
  type NewEvent,
  type PgEventStore,
  type StoredEvent,
} from '@meterflow/event-store';
import { newId } from '@meterflow/kernel';
import {
  decideGrant,
  evolveGrant,
  foldGrant,
  initialGrantState,
  type GrantCommand,
  type GrantState,
  type Posting,
} from '../domain/credit-grant.decider.js';
import { projectStored } from '../adapters/projections/ledger.projection.js';
import { renderGrantState, renderTransaction } from './credit-ledger.presenters.js';
import { streams } from './streams.js';

interface LoadedGrant {
  state: GrantState;
  version: number;
  pending: NewEvent[];
}

export interface RequestFacts {
  requestId?: string | null;
  idempotencyKey?: string | null;
  /** The message or request that caused the write (event metadata `causationId`). */
  causationId?: string;
}

/**
 * Several grant commands (and per-invoice facts) written in one transaction: each grant stream
 * is appended at the version it was loaded at, with the Stripe events describing the change,
 * and the read models are projected before commit.
 */
export class LedgerUnitOfWork {
  private readonly grants = new Map<string, LoadedGrant>();
  private readonly others: { streamId: string; expected: ExpectedVersion; events: NewEvent[] }[] = [];

  constructor(
    private readonly store: PgEventStore,
    readonly tx: pg.PoolClient,
    private readonly request: RequestFacts = {},
  ) {}

  async grant(id: string): Promise<GrantState> {
    return (await this.load(id)).state;
  }

  /**
   * Load many grants in one query (a batch decides on all of them in memory afterwards). Grants
   * already loaded keep their state; each is appended at the version it is loaded at here.
   */
  async preload(ids: readonly string[]): Promise<void> {
    const wanted = [...new Set(ids)].filter((id) => !this.grants.has(id));
    if (wanted.length === 0) return;
    const { rows } = await this.tx.query<{ stream_id: string; stream_position: number; type: string; data: unknown }>(
      `SELECT stream_id, stream_position, type, data FROM ${quoteIdent(this.store.schema)}.events
        WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, stream_position`,
      [wanted.map(streams.grant)],
    );
    const byStream = new Map<string, typeof rows>();
    for (const r of rows) {
      let list = byStream.get(r.stream_id);
      if (!list) byStream.set(r.stream_id, (list = []));
      list.push(r);
    }
    for (const id of wanted) {
      const history = byStream.get(streams.grant(id)) ?? [];
      this.grants.set(id, {
        state: history.length ? foldGrant(history) : initialGrantState(),
        version: history.at(-1)?.stream_position ?? 0,
        pending: [],
      });
    }
  }

  /**
   * Remember what is decided so far; the returned function forgets everything decided after
   * (one request of a batch failed: the others' decisions stand).
   */
  checkpoint(): () => void {
    const marks = new Map([...this.grants].map(([id, g]) => [id, { state: g.state, pending: g.pending.length }]));
    const others = this.others.length;
    return () => {
      for (const [id, g] of this.grants) {
        const mark = marks.get(id);
        if (!mark) {
          this.grants.delete(id); // loaded since: read again from the store if needed
          continue;
        }
        g.state = mark.state;
        g.pending.length = mark.pending;
      }
      this.others.length = others;
    };
  }

  private async load(id: string): Promise<LoadedGrant> {
    let g = this.grants.get(id);
    if (!g) {
      const history = await this.store.readStream(streams.grant(id), { tx: this.tx });
      g = { state: history.length ? foldGrant(history) : initialGrantState(), version: history.at(-1)?.streamPosition ?? 0, pending: [] };
      this.grants.set(id, g);
    }
    return g;
  }

  /** Decide on the current state, record the events (plus their Stripe events), return the new state. */
  async run(id: string, command: GrantCommand, at: number): Promise<{ state: GrantState; events: CreditGrantEvent[] }> {
    const g = await this.load(id);
    const events = decideGrant(command, g.state);
    const before = g.state;
    for (const e of events) {
      g.state = evolveGrant(g.state, e);
      g.pending.push(e, ...this.stripeEventsFor(e, before, g.state, at));
    }
    return { state: g.state, events };
  }

  private stripeEventsFor(e: CreditGrantEvent, before: GrantState, after: GrantState, at: number): NewEvent[] {
    const opts = { requestId: this.request.requestId ?? null, idempotencyKey: this.request.idempotencyKey ?? null };
    switch (e.type) {
      case 'CreditGrantCreated':
        return [stripeEvent(newId('event'), 'billing.credit_grant.created', { ...renderGrantState(after) }, at, opts)];
      case 'CreditBalanceTransactionRecorded':
        return [
          stripeEvent(newId('event'), 'billing.credit_balance_transaction.created', { ...renderTransaction(e.data as Posting) }, at, opts),
        ];
      case 'CreditGrantUpdated':
      case 'CreditGrantExpired':
      case 'CreditGrantVoided': {
        const prev = renderGrantState(before) as unknown as Record<string, unknown>;
        const next = renderGrantState(after) as unknown as Record<string, unknown>;
        const changed: Record<string, unknown> = {};
        for (const k of Object.keys(next)) if (JSON.stringify(prev[k]) !== JSON.stringify(next[k])) changed[k] = prev[k];
        return [stripeEvent(newId('event'), 'billing.credit_grant.updated', next, at, { ...opts, previousAttributes: changed })];
      }
    }
  }

  add(streamId: string, expected: ExpectedVersion, events: NewEvent[]): void {
    this.others.push({ streamId, expected, events });
  }

  /** Append everything and project it, in the unit's transaction (the caller commits). */
  async flush(): Promise<StoredEvent[]> {
    const opts = {
      tx: this.tx,
      ...(this.request.requestId ? { correlationId: this.request.requestId } : {}),
      ...(this.request.causationId ? { causationId: this.request.causationId } : {}),
    };
    const batches: AppendBatch[] = [...this.others];
    for (const [id, g] of this.grants) {
      if (g.pending.length > 0) batches.push({ streamId: streams.grant(id), expected: g.version, events: g.pending });
    }
    // One statement for every stream, all or nothing; a conflict rolls the whole unit back (no savepoint).
    const stored = (await this.store.appendMany(batches, { ...opts, savepoint: false })).flatMap((r) => r.stored);
    await projectStored(this.tx, stored);
    return stored;
  }
}

/** Run `fn` in a fresh transaction with a unit of work; retried when another writer got there first. */
export async function inUnitOfWork<T>(
  store: PgEventStore,
  fn: (uow: LedgerUnitOfWork) => Promise<T>,
  request: RequestFacts = {},
  attempts = 5,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.withTransaction(async (tx) => {
        const uow = new LedgerUnitOfWork(store, tx, request);
        const result = await fn(uow);
        await uow.flush();
        return result;
      });
    } catch (e) {
      if (e instanceof VersionConflictError && attempt < attempts) continue;
      throw e;
    }
  }
}
