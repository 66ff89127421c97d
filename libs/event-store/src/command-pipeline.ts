import type pg from 'pg';
import { STRIPE_EVENT_ANNOUNCED, STRIPE_EVENT_EMITTED } from '@meterflow/contracts';
import { announcedChanges, type AnnouncedState } from './announced-changes.js';
import {
  VersionConflictError,
  type AppendBatch,
  type ExpectedVersion,
  type NewEvent,
  type PgEventStore,
  type StoredEvent,
} from './pg-event-store.js';

/**
 * The one command pipeline every service writes through (Emmett's CommandHandler is the model):
 *
 *   load the streams (one query for many: batch preload, or a snapshot read model)
 *   -> decide each command on its state (pure; time and ids come in the command)
 *   -> append every change with its expected version in ONE statement, in one transaction
 *   -> project the read models and record the downstream (Stripe) events in that transaction
 *   -> retry the whole unit on a version conflict.
 *
 * A single command is a batch of one (`handle`); a batch is `handleMany`, or `run` with a
 * unit of work for commands that span several aggregate types.
 *
 * Over ~300 lines by choice: it is the one write mechanism, read top to bottom in one file.
 */

/** A domain event as a decider produces and folds it. Folded stored events have the same shape (bigints come back as strings). */
export interface DomainEvent {
  type: string;
  data: unknown;
}

/** Pure: `decide` may throw a DomainError for a refused command; `evolve` is total and never throws. */
export interface Decider<S, C, E extends DomainEvent = DomainEvent> {
  initialState: () => S;
  decide: (command: C, state: S) => E | readonly E[];
  evolve: (state: S, event: E) => S;
}

export interface Loaded<S> {
  state: S;
  /** The stream's version (its event count) the state was folded or snapshotted at. */
  version: number;
}

/** One aggregate changed by a unit of work: what the projections are given. */
export interface Change<S, E extends DomainEvent = DomainEvent> {
  id: string;
  before: S;
  after: S;
  /** The decided domain events (announcements not included). */
  events: readonly E[];
  /** The stream's version after the append. */
  version: number;
  /** What the append stored on this stream (decided events and announcements), with global positions. */
  stored: readonly StoredEvent[];
}

/** Who asked: carried into announcements (Stripe `request`) and event metadata. */
export interface CommandContext {
  requestId?: string | null;
  idempotencyKey?: string | null;
  correlationId?: string;
  causationId?: string;
  /** `occurredAt` of the appended events (default: the append's time). */
  occurredAt?: Date;
}

type Queryable = Pick<pg.PoolClient, 'query'>;

/** Everything the pipeline needs to know about one kind of aggregate. */
export interface AggregateType<S, C, E extends DomainEvent = DomainEvent> {
  /** For errors and logs (`invoice`, `credit_grant`). */
  name: string;
  streamId: (id: string) => string;
  decider: Decider<S, C, E>;
  /**
   * Events recorded with a decided event that the aggregate does not fold (typically the
   * `StripeEventEmitted` announcing the change). Called once per decided event, in order.
   */
  announce?: (e: { id: string; event: E; before: S; after: S; command: C }, ctx: CommandContext) => readonly NewEvent[];
  /**
   * Like `announce`, but once per executed command that decided events, after them: for an
   * announcement of the command's whole change (Stripe sends one `customer.subscription.updated`
   * per request, however many events the request decided). `before` / `after`: the state before
   * the command's first event and after its last; `since`: the stream version before the
   * command's first event (a `StripeEventAnnounced`'s `since`).
   */
  announceChange?: (
    c: { id: string; command: C; events: readonly E[]; before: S; after: S; since: number },
    ctx: CommandContext,
  ) => readonly NewEvent[];
  /** Which stored events `evolve` folds (default: everything but `StripeEventEmitted` and `StripeEventAnnounced`). */
  folds?: (type: string) => boolean;
  /**
   * The relay may render this type's announcements from the deciding unit's states
   * (`announced-changes.ts`). Only for a type whose states folded from the stream equal its units'
   * states as JSON text, key order included: loaded by folding, not from a snapshot, in a store
   * that keeps event data as written (`json`, not `jsonb`, which reorders keys). Renderings pass
   * objects such as `metadata` through and compare texts (`previous_attributes`), so a reordered
   * key would publish a different event than the stream gives.
   */
  announcesFromMemory?: boolean;
  /** Write the read models of the changed aggregates, inside the unit's transaction. */
  project?: (tx: pg.PoolClient, changes: readonly Change<S, E>[]) => Promise<void>;
  /**
   * Option: load state and version from a snapshot (a read model the projection keeps at the
   * stream's version) instead of folding the stream. Ids it does not return are new streams.
   */
  snapshot?: (db: Queryable, ids: readonly string[]) => Promise<ReadonlyMap<string, Loaded<S>>>;
}

/** What `evolve` folds unless a type says otherwise: every stored event but the Stripe events. */
export const defaultFolds = (type: string): boolean => type !== STRIPE_EVENT_EMITTED && type !== STRIPE_EVENT_ANNOUNCED;

interface Tracked {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type: AggregateType<any, any, any>;
  id: string;
  loaded: Loaded<unknown>;
  state: unknown;
  decided: DomainEvent[];
  pending: NewEvent[];
}

/** The Stripe event id of a `StripeEventAnnounced`, else null. */
const announcedId = (e: NewEvent): string | null => (e.type === STRIPE_EVENT_ANNOUNCED ? (e.data as { id: string }).id : null);

/** Fold stored events into a state with a type's decider. */
export function foldStream<S, C, E extends DomainEvent>(type: AggregateType<S, C, E>, history: readonly StoredEvent[]): Loaded<S> {
  const folds = type.folds ?? defaultFolds;
  let state = type.decider.initialState();
  for (const e of history) if (folds(e.type)) state = type.decider.evolve(state, e as unknown as E);
  return { state, version: history.at(-1)?.streamPosition ?? 0 };
}

/** Many aggregates of one type in one query (or one snapshot read); ids without a stream are new (initial state, version 0). */
export async function loadAggregates<S, C, E extends DomainEvent>(
  store: PgEventStore,
  db: pg.PoolClient | undefined,
  type: AggregateType<S, C, E>,
  ids: readonly string[],
): Promise<Map<string, Loaded<S>>> {
  const out = new Map<string, Loaded<S>>();
  if (ids.length === 0) return out;
  if (type.snapshot) {
    const snaps = await type.snapshot(db ?? store.pool, ids);
    for (const id of ids) out.set(id, snaps.get(id) ?? { state: type.decider.initialState(), version: 0 });
    return out;
  }
  const streams = await store.readStreams(ids.map(type.streamId), db ? { tx: db } : {});
  for (const id of ids) out.set(id, foldStream(type, streams.get(type.streamId(id)) ?? []));
  return out;
}

/**
 * The aggregates loaded, decided on and recorded in one transaction. Each stream is appended at
 * the version it was loaded at, so a concurrent writer makes `commit` fail with a
 * `VersionConflictError` (the pipeline then runs the unit again).
 */
/** What a change to the unit overwrote (kept once a checkpoint was taken): undone in reverse order. */
type Undo = { kind: 'tracked'; key: string } | { kind: 'changed'; t: Tracked; state: unknown; decided: number; pending: number };

export class UnitOfWork {
  private readonly tracked = new Map<string, Tracked>();
  private readonly facts: AppendBatch[] = [];
  private undoLog: Undo[] | undefined;
  /** The states around each announcement decided here, by Stripe event id (`announced-changes.ts`). */
  private readonly announced = new Map<string, AnnouncedState>();

  constructor(
    readonly store: PgEventStore,
    readonly tx: pg.PoolClient,
    readonly ctx: CommandContext = {},
  ) {}

  /** Load many aggregates of one type in one query (or one snapshot read); already loaded ones keep their state. */
  async preload<S, C, E extends DomainEvent>(type: AggregateType<S, C, E>, ids: readonly string[]): Promise<void> {
    const wanted = [...new Set(ids)].filter((id) => !this.tracked.has(type.streamId(id)));
    if (wanted.length === 0) return;
    for (const [id, loaded] of await loadAggregates(this.store, this.tx, type, wanted)) this.track(type, id, loaded);
  }

  /**
   * Use states the caller read before this unit (`CommandPipeline.read`, e.g. before asking
   * another service) instead of reading them again. Only on a unit's first attempt: a stale one
   * fails the commit with a version conflict, and the retry must read afresh (or, for a batch,
   * adopt the rest again and leave out the streams `run` names in `conflicted`).
   */
  adopt<S, C, E extends DomainEvent>(type: AggregateType<S, C, E>, loaded: ReadonlyMap<string, Loaded<S>>): void {
    for (const [id, l] of loaded) if (!this.tracked.has(type.streamId(id))) this.track(type, id, l);
  }

  /** Treat these as new streams without reading them (ids just generated). */
  fresh<S, C, E extends DomainEvent>(type: AggregateType<S, C, E>, ids: readonly string[]): void {
    for (const id of ids)
      if (!this.tracked.has(type.streamId(id))) this.track(type, id, { state: type.decider.initialState(), version: 0 });
  }

  /** The aggregate's current state in this unit (loaded when needed). */
  async load<S, C, E extends DomainEvent>(type: AggregateType<S, C, E>, id: string): Promise<S> {
    await this.preload(type, [id]);
    return this.tracked.get(type.streamId(id))!.state as S;
  }

  /** The state as loaded from the store, before anything this unit decided. */
  async loaded<S, C, E extends DomainEvent>(type: AggregateType<S, C, E>, id: string): Promise<Loaded<S>> {
    await this.preload(type, [id]);
    return this.tracked.get(type.streamId(id))!.loaded as Loaded<S>;
  }

  /**
   * Where a loaded aggregate will stand once this unit commits: its state and its version after
   * the append (hand it to a later unit's `adopt`, which then need not read it again).
   */
  head<S, C, E extends DomainEvent>(type: AggregateType<S, C, E>, id: string): Loaded<S> {
    const t = this.tracked.get(type.streamId(id));
    if (!t) throw new Error(`UnitOfWork: ${type.name} '${id}' was not loaded`);
    return { state: t.state as S, version: t.loaded.version + t.pending.length };
  }

  /** Decide `command` on the aggregate's current state and record the events (plus their announcements). */
  async execute<S, C, E extends DomainEvent>(type: AggregateType<S, C, E>, id: string, command: C): Promise<{ state: S; events: E[] }> {
    await this.preload(type, [id]);
    return this.executeLoaded(type, id, command);
  }

  /** `execute` on an aggregate already loaded (preload first): no IO. */
  executeLoaded<S, C, E extends DomainEvent>(type: AggregateType<S, C, E>, id: string, command: C): { state: S; events: E[] } {
    const t = this.tracked.get(type.streamId(id));
    if (!t) throw new Error(`UnitOfWork: ${type.name} '${id}' was not loaded`);
    const start = t.state as S;
    const since = t.loaded.version + t.pending.length;
    const decided = type.decider.decide(command, start);
    const events = (Array.isArray(decided) ? decided : [decided]) as E[];
    if (events.length > 0) this.undoLog?.push({ kind: 'changed', t, state: t.state, decided: t.decided.length, pending: t.pending.length });
    for (const event of events) {
      const before = t.state as S;
      const after = type.decider.evolve(before, event);
      t.state = after;
      t.decided.push(event);
      const announced = type.announce?.({ id, event, before, after, command }, this.ctx) ?? [];
      t.pending.push(event as NewEvent, ...announced);
      this.remember(type, announced, { before, after, event });
    }
    if (events.length > 0 && type.announceChange) {
      const announced = type.announceChange({ id, command, events, before: start, after: t.state as S, since }, this.ctx);
      t.pending.push(...announced);
      this.remember(type, announced, { before: start, after: t.state, event: events[events.length - 1] });
    }
    return { state: t.state as S, events };
  }

  /** The states an announcement renders from, as the relay would fold them from the stream (types that announce from memory). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private remember(type: AggregateType<any, any, any>, announced: readonly NewEvent[], change: Omit<AnnouncedState, 'aggregate'>): void {
    if (!type.announcesFromMemory) return;
    for (const e of announced) {
      const id = announcedId(e);
      if (id !== null) this.announced.set(id, { aggregate: type.name, ...change });
    }
  }

  /** Record facts on a stream no aggregate type owns here (a key claim), appended with the rest. */
  record(streamId: string, expected: ExpectedVersion, events: readonly NewEvent[]): void {
    this.facts.push({ streamId, expected, events: [...events] });
  }

  /** Remember what is decided so far; the returned function forgets everything decided after (one item of a batch failed). */
  checkpoint(): () => void {
    // O(changes since the mark), not O(aggregates tracked): a batch takes one per item.
    const log = (this.undoLog ??= []);
    const mark = log.length;
    const facts = this.facts.length;
    return () => {
      while (log.length > mark) {
        const u = log.pop()!;
        if (u.kind === 'tracked') this.tracked.delete(u.key);
        else {
          u.t.state = u.state;
          u.t.decided.length = u.decided;
          u.t.pending.length = u.pending;
        }
      }
      this.facts.length = facts;
    };
  }

  /** Append everything in one statement and run each type's projection, in the unit's transaction. */
  async commit(): Promise<StoredEvent[]> {
    const batches: AppendBatch[] = [...this.facts];
    const changed = [...this.tracked.values()].filter((t) => t.pending.length > 0);
    for (const t of changed)
      batches.push({
        streamId: t.type.streamId(t.id),
        expected: t.loaded.version === 0 ? 'no_stream' : t.loaded.version,
        events: t.pending,
      });
    if (batches.length === 0) return [];
    const at = this.ctx.occurredAt;
    if (at) for (const b of batches) b.events = b.events.map((e) => ({ ...e, occurredAt: e.occurredAt ?? at }));
    // One statement for every stream, all or nothing: a conflict rolls the whole unit back (no savepoint).
    const results = await this.store.appendMany(batches, {
      tx: this.tx,
      savepoint: false,
      ...(this.ctx.correlationId ? { correlationId: this.ctx.correlationId } : {}),
      ...(this.ctx.causationId ? { causationId: this.ctx.causationId } : {}),
    });
    const byStream = new Map(results.map((r) => [r.streamId, r]));
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const byType = new Map<AggregateType<any, any, any>, Change<unknown>[]>();
    for (const t of changed) {
      let list = byType.get(t.type);
      if (!list) byType.set(t.type, (list = []));
      const r = byStream.get(t.type.streamId(t.id))!;
      list.push({ id: t.id, before: t.loaded.state, after: t.state, events: t.decided, version: r.nextVersion, stored: r.stored });
    }
    for (const [type, changes] of byType) await type.project?.(this.tx, changes);
    // Only what is appended (an item undone in a batch took its announcements with it).
    if (this.announced.size > 0) {
      const memo = announcedChanges(this.store);
      for (const b of batches)
        for (const e of b.events) {
          const id = announcedId(e);
          const state = id === null ? undefined : this.announced.get(id);
          if (state) memo.put(id!, state);
        }
    }
    return results.flatMap((r) => r.stored);
  }

  private track<S, C, E extends DomainEvent>(type: AggregateType<S, C, E>, id: string, loaded: Loaded<S>): void {
    this.tracked.set(type.streamId(id), { type, id, loaded, state: loaded.state, decided: [], pending: [] });
    this.undoLog?.push({ kind: 'tracked', key: type.streamId(id) });
  }
}

export interface PipelineOptions {
  /** Runs of a unit on version conflicts (default 5; `run` takes its own for one unit). */
  attempts?: number;
  /**
   * Other failures that mean a concurrent unit won, to run again like a version conflict (for
   * `run`): a read model's unique index that made this unit wait for the winner's commit and then
   * refused its row. The attempts are shared with the version conflicts.
   */
  retryOn?: (e: unknown) => boolean;
}

export type ItemResult<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Load -> decide -> append -> project, in one transaction, retried on version conflicts. */
export class CommandPipeline {
  private readonly attempts: number;

  constructor(
    readonly store: PgEventStore,
    opts: PipelineOptions = {},
  ) {
    this.attempts = opts.attempts ?? 5;
  }

  /**
   * Read aggregates outside any unit (one query, no transaction): for checks and questions to
   * other services before deciding. Hand the result to `uow.adopt` to spare the unit a re-read.
   */
  read<S, C, E extends DomainEvent>(type: AggregateType<S, C, E>, ids: readonly string[]): Promise<Map<string, Loaded<S>>> {
    return loadAggregates(this.store, undefined, type, [...new Set(ids)]);
  }

  /**
   * Run `fn` with a fresh unit of work and commit it; on a version conflict run it again from
   * scratch (`attempt` counts from 1: state read before the unit may only be trusted on the first,
   * except that `conflicted` names every stream whose version conflict failed an earlier attempt:
   * a batch that adopted states read earlier can leave those out and keep the rest). Failures
   * `opts.retryOn` accepts run it again too.
   */
  async run<T>(
    fn: (uow: UnitOfWork, attempt: number, conflicted: ReadonlySet<string>) => Promise<T>,
    ctx: CommandContext = {},
    opts: PipelineOptions = {},
  ): Promise<T> {
    const attempts = opts.attempts ?? this.attempts;
    const conflicted = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.store.withTransaction(async (tx) => {
          const uow = new UnitOfWork(this.store, tx, ctx);
          const result = await fn(uow, attempt, conflicted);
          await uow.commit();
          return result;
        });
      } catch (e) {
        if (e instanceof VersionConflictError && attempt < attempts) {
          conflicted.add(e.streamId);
          continue;
        }
        if (opts.retryOn?.(e) && attempt < attempts) continue;
        throw e;
      }
    }
  }

  /**
   * `run` inside a transaction the caller owns (a consumer's inbox row must commit with the
   * appends): one attempt, no retry; a version conflict is thrown for the caller (nak, redeliver).
   */
  async runIn<T>(tx: pg.PoolClient, fn: (uow: UnitOfWork) => Promise<T>, ctx: CommandContext = {}): Promise<T> {
    const uow = new UnitOfWork(this.store, tx, ctx);
    const result = await fn(uow);
    await uow.commit();
    return result;
  }

  /** One command on one aggregate: a batch of one. */
  async handle<S, C, E extends DomainEvent>(
    type: AggregateType<S, C, E>,
    id: string,
    command: C,
    ctx: CommandContext = {},
  ): Promise<{ state: S; events: E[] }> {
    return this.run((uow) => uow.execute(type, id, command), ctx);
  }

  /**
   * Many commands of one type in one unit: one load query, each command decided in order (a
   * refused command fails alone: its result is the error, the others stand), one append.
   */
  async handleMany<S, C, E extends DomainEvent>(
    type: AggregateType<S, C, E>,
    commands: readonly { id: string; command: C }[],
    ctx: CommandContext = {},
  ): Promise<ItemResult<{ state: S; events: E[] }>[]> {
    return this.run(async (uow) => {
      await uow.preload(
        type,
        commands.map((c) => c.id),
      );
      return commands.map(({ id, command }) => {
        const undo = uow.checkpoint();
        try {
          return { ok: true as const, value: uow.executeLoaded(type, id, command) };
        } catch (error) {
          undo();
          return { ok: false as const, error };
        }
      });
    }, ctx);
  }
}
