// The append-only event store on Postgres. Over ~300 lines by choice: append, read and the
// transaction helper share one table's SQL and its conflict handling.
import { currentMessageContext, uuidV7 } from '@meterflow/kernel';
import type pg from 'pg';
import { eventContractViolation, type EventCatalog, type EventMetadata } from '@meterflow/contracts';
import { quoteIdent } from './event-store.migration.js';
import { toJson } from './json.js';
import { context, propagation } from '@opentelemetry/api';

export interface NewEvent {
  type: string;
  schemaVersion?: number;
  /** JSON-serialisable; `bigint` values are stored as decimal strings (see `toJson`). */
  data: unknown;
  /** A UUID; generated when absent. Pass one to make a retried append idempotent. */
  eventId?: string;
  occurredAt?: Date;
}

export interface StoredEvent {
  globalPosition: bigint;
  streamId: string;
  streamPosition: number;
  eventId: string;
  type: string;
  schemaVersion: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data: any;
  metadata: EventMetadata;
  recordedAt: Date;
}

/** `number` = the stream's current version (its event count); 0 and 'no_stream' = must not exist. */
export type ExpectedVersion = number | 'any' | 'no_stream';

export interface AppendOptions {
  tx?: pg.PoolClient;
  correlationId?: string;
  causationId?: string;
  traceparent?: string;
}

export interface AppendManyOptions extends AppendOptions {
  /** Inside `tx`, guard the statement with a savepoint so a conflict leaves the transaction usable (default true). */
  savepoint?: boolean;
}

export interface AppendBatch {
  streamId: string;
  expected: ExpectedVersion;
  events: NewEvent[];
}

export interface AppendManyResult extends AppendResult {
  streamId: string;
}

export interface AppendResult {
  nextVersion: number;
  stored: StoredEvent[];
}

export class VersionConflictError extends Error {
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actual: number | undefined,
  ) {
    super(`version conflict on stream '${streamId}': expected ${String(expected)}, actual ${actual ?? 'unknown'}`);
    this.name = 'VersionConflictError';
  }
}

/** A transaction of the store: what `withTransaction` and a unit of work (`uow.tx`) hand out; ports take it as an opaque handle. */
export type Transaction = pg.PoolClient;
/** A transaction or the pool: anything a read can run on. */
export type Queryable = Pick<pg.PoolClient, 'query'>;

interface EventRow {
  global_position: string;
  stream_id: string;
  stream_position: number;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: EventMetadata;
  recorded_at: Date;
}

const COLUMNS = 'global_position, stream_id, stream_position, event_id, type, schema_version, data, metadata, recorded_at';

export const toStoredEvent = (r: EventRow): StoredEvent => ({
  globalPosition: BigInt(r.global_position),
  streamId: r.stream_id,
  streamPosition: r.stream_position,
  eventId: r.event_id,
  type: r.type,
  schemaVersion: r.schema_version,
  data: r.data,
  metadata: withRowIds(r.metadata, r.event_id, r.stream_id),
  recordedAt: r.recorded_at,
});

/** A row's metadata as events carry it: `eventId` and `streamId` from the row's columns first (stored rows hold only the rest; older rows hold both). */
const withRowIds = (stored: Omit<EventMetadata, 'eventId' | 'streamId'>, eventId: string, streamId: string): EventMetadata => ({
  eventId,
  streamId,
  ...stored,
});

/**
 * The same for a row's metadata as JSON text (the relay's envelope, built without parsing it):
 * text that already starts with `eventId` (a row stored before, as json in the order written or
 * as jsonb, whose shortest key it is) is returned as it is.
 */
export function withRowIdsText(stored: string, eventId: string, streamId: string): string {
  if (/^\{\s*"eventId"/.test(stored)) return stored;
  const rest = stored.slice(stored.indexOf('{') + 1).trimStart();
  return `{"eventId":${JSON.stringify(eventId)},"streamId":${JSON.stringify(streamId)}${rest.startsWith('}') ? '' : ','}${rest}`;
}

/** What an append reads back: the store-assigned position and time of each event. */
interface AppendedRow {
  global_position: string;
  stream_id: string;
  event_id: string;
  stream_position: number;
  recorded_at: Date;
}

/** An appended event from what was sent and what the insert returned; `data` is parsed from the sent JSON when first read. */
function appendedEvent(
  row: AppendedRow,
  streamId: string,
  type: string,
  schemaVersion: number,
  dataJson: string,
  metadata: EventMetadata,
): StoredEvent {
  const ev = {
    globalPosition: BigInt(row.global_position),
    streamId,
    streamPosition: row.stream_position,
    eventId: row.event_id,
    type,
    schemaVersion,
    data: undefined as unknown,
    metadata,
    recordedAt: row.recorded_at,
  };
  let data: unknown;
  let parsed = false;
  Object.defineProperty(ev, 'data', {
    enumerable: true,
    configurable: true,
    get: () => {
      if (!parsed) {
        data = JSON.parse(dataJson);
        parsed = true;
      }
      return data;
    },
    set: (v: unknown) => {
      data = v;
      parsed = true;
    },
  });
  return ev;
}

const isUniqueViolation = (e: unknown): boolean => typeof e === 'object' && e !== null && (e as { code?: string }).code === '23505';

export interface PgEventStoreOptions {
  /** Applied to every event read (readStream, readAll): lift old schema versions to the current shape. */
  upcast?: (event: StoredEvent) => StoredEvent;
  /** The service's event contracts (libs/contracts): every appended event must match one. */
  catalog?: EventCatalog;
}

/** An append refused because an event breaks the service's event contract; nothing was written. */
export class EventContractError extends Error {
  constructor(
    readonly streamId: string,
    readonly eventType: string,
    readonly reason: string,
  ) {
    super(`event '${eventType}' on stream '${streamId}' breaks its contract: ${reason}`);
    this.name = 'EventContractError';
  }
}

/** Append-only event store on one Postgres schema (tables from `eventStoreMigration`). */
export class PgEventStore {
  private readonly t: string;
  private readonly upcast: (event: StoredEvent) => StoredEvent;
  private readonly catalog: EventCatalog | undefined;

  constructor(
    readonly pool: pg.Pool,
    readonly schema: string,
    opts: PgEventStoreOptions = {},
  ) {
    this.t = `${quoteIdent(schema)}.events`;
    this.upcast = opts.upcast ?? ((e) => e);
    this.catalog = opts.catalog;
  }

  /** One stream: `appendMany` with a single batch. */
  async append(streamId: string, expected: ExpectedVersion, events: NewEvent[], opts: AppendManyOptions = {}): Promise<AppendResult> {
    const [result] = await this.appendMany([{ streamId, expected, events }], opts);
    return { nextVersion: result!.nextVersion, stored: result!.stored };
  }

  /**
   * Several streams in ONE multi-row INSERT (one round trip), all or nothing. Each batch is
   * checked against its stream's head like a single append: positions follow the current head,
   * and if any `expected` is stale nothing is inserted and a `VersionConflictError` names the
   * first stale stream. Concurrent writers collide on UNIQUE(stream_id, stream_position); the
   * error names the stream from the constraint's detail. Inside a caller's transaction the
   * statement runs under a savepoint, so a conflict leaves the transaction usable (the caller
   * may retry); pass `savepoint: false` when the caller rolls back on any error anyway.
   * A stream may appear in only one batch. Results are in batch order.
   */
  async appendMany(batches: readonly AppendBatch[], opts: AppendManyOptions = {}): Promise<AppendManyResult[]> {
    const db: Queryable = opts.tx ?? this.pool;
    const seen = new Set<string>();
    for (const b of batches) {
      if (seen.has(b.streamId)) throw new Error(`appendMany: stream '${b.streamId}' appears in more than one batch`);
      seen.add(b.streamId);
    }
    if (batches.length === 0) return [];
    if (this.catalog) {
      for (const b of batches)
        for (const e of b.events) {
          const reason = eventContractViolation(this.catalog, e.type, e.data);
          if (reason !== null) throw new EventContractError(b.streamId, e.type, reason);
        }
    }
    if (batches.every((b) => b.events.length === 0)) {
      const versions = await this.currentVersions(
        db,
        batches.map((b) => b.streamId),
      );
      for (const b of batches) this.check(b.streamId, b.expected, versions.get(b.streamId) ?? 0);
      return batches.map((b) => ({ streamId: b.streamId, nextVersion: versions.get(b.streamId) ?? 0, stored: [] }));
    }
    const now = new Date();
    const nowMs = now.getTime();
    // Trace context travels with the facts: the caller's, or the active span's when tracing is on.
    const traceparent = opts.traceparent ?? activeTraceparent();
    // Correlation and causation: the caller's, or those of the message being handled.
    const ctx = currentMessageContext();
    const causationId = opts.causationId ?? ctx?.causationId;
    const correlationId = opts.correlationId ?? ctx?.correlationId;
    const streamIds: string[] = [];
    const exacts: (number | null)[] = [];
    const metas: EventMetadata[] = [];
    // The rows travel as ONE json parameter (data and metadata spliced in as the JSON they
    // already are): encoding seven array literals, escaping every element, cost more CPU than the
    // statement itself (see docs/benchmarks.md, issue 12).
    const sent: { type: string; sv: number; data: string }[] = [];
    let rowsJson = '[';
    let n = 0;
    // The metadata is stored without `eventId` and `streamId`: the row's own columns hold them,
    // and reads and the relay add them back (`withRowIds`). Rows stored before keep theirs.
    const context = {
      ...(causationId !== undefined ? { causationId } : {}),
      ...(correlationId !== undefined ? { correlationId } : {}),
      ...(traceparent !== undefined ? { traceparent } : {}),
    };
    const contextJson = JSON.stringify(context).slice(1, -1);
    for (const b of batches) {
      streamIds.push(b.streamId);
      exacts.push(b.expected === 'any' ? null : b.expected === 'no_stream' ? 0 : b.expected);
      const stream = JSON.stringify(b.streamId);
      b.events.forEach((e, i) => {
        // Time-ordered: the unique index on event_id grows at its right edge (kernel's uuidV7).
        const eventId = e.eventId ?? uuidV7(nowMs);
        const occurredAt = (e.occurredAt ?? now).toISOString();
        const metadata: EventMetadata = { eventId, streamId: b.streamId, occurredAt, ...context };
        const data = toJson(e.data ?? null);
        if (n++ > 0) rowsJson += ',';
        rowsJson += `{"s":${stream},"o":${i + 1},"n":${n},"i":${JSON.stringify(eventId)},"t":${JSON.stringify(e.type)},"v":${e.schemaVersion ?? 1},"d":${data},"m":{"occurredAt":"${occurredAt}"${contextJson ? `,${contextJson}` : ''}}}`;
        sent.push({ type: e.type, sv: e.schemaVersion ?? 1, data });
        metas.push(metadata);
      });
    }
    rowsJson += ']';
    // One statement: each stream's positions follow its current head, and one stale `expected`
    // (checked for every batch, empty ones too) inserts nothing at all.
    const sql = `
      WITH b AS (
        SELECT b.stream_id, b.expected,
               coalesce((SELECT max(stream_position) FROM ${this.t} x WHERE x.stream_id = b.stream_id), 0) AS v
          FROM unnest($1::text[], $2::int[]) AS b(stream_id, expected)
      ), ok AS (SELECT bool_and(b.expected IS NULL OR b.v = b.expected) AS ok FROM b)
      INSERT INTO ${this.t} (stream_id, stream_position, event_id, type, schema_version, data, metadata)
      SELECT e.s, b.v + e.o, e.i, e.t, e.v, e.d, e.m
        FROM json_to_recordset($3::json) AS e(s text, o int, n int, i uuid, t text, v int, d json, m json)
        JOIN b ON b.stream_id = e.s
       CROSS JOIN ok
       WHERE ok.ok
       ORDER BY e.n
      RETURNING global_position, stream_id, stream_position, event_id, recorded_at`;
    const params = [streamIds, exacts, rowsJson];
    const savepoint = opts.tx !== undefined && opts.savepoint !== false;
    const byStream = new Map(batches.map((b) => [b.streamId, b]));
    for (let attempt = 1; ; attempt++) {
      if (savepoint) await opts.tx!.query('SAVEPOINT mf_append');
      let res: pg.QueryResult<AppendedRow>;
      try {
        res = await db.query<AppendedRow>(sql, params);
        if (savepoint) await opts.tx!.query('RELEASE SAVEPOINT mf_append');
      } catch (e) {
        if (savepoint) await opts.tx!.query('ROLLBACK TO SAVEPOINT mf_append');
        if (!(isUniqueViolation(e) && isStreamPositionClash(e))) throw e;
        const streamId = clashingStream(e) ?? batches.find((b) => b.events.length > 0)!.streamId;
        const batch = byStream.get(streamId);
        // 'any' only lost a race for positions: try again at the new head (not in a transaction
        // aborted by the clash: without a savepoint the caller runs its unit again instead).
        if (batch?.expected === 'any' && attempt < 5 && (savepoint || !opts.tx)) continue;
        // Without a savepoint the caller's transaction is aborted: the head cannot be read.
        const actual = opts.tx && !savepoint ? undefined : await this.currentVersion(db, streamId).catch(() => undefined);
        throw new VersionConflictError(streamId, batch?.expected ?? 'any', actual);
      }
      if (res.rowCount === 0) {
        const versions = await this.currentVersions(db, streamIds);
        for (const b of batches) this.check(b.streamId, b.expected, versions.get(b.streamId) ?? 0);
        // The heads moved back in line since (another transaction rolled back): report the first batch.
        throw new VersionConflictError(batches[0]!.streamId, batches[0]!.expected, versions.get(batches[0]!.streamId));
      }
      // Only positions and times come back; the rest is what was sent (data parsed when read).
      // A stream's rows in position order are its batch's events in order.
      const rows = new Map<string, AppendedRow[]>();
      for (const row of res.rows) {
        const list = rows.get(row.stream_id);
        if (list) list.push(row);
        else rows.set(row.stream_id, [row]);
      }
      const stored = new Map<string, StoredEvent[]>();
      let first = 0;
      for (const b of batches) {
        const list = (rows.get(b.streamId) ?? []).sort((x, y) => x.stream_position - y.stream_position);
        stored.set(
          b.streamId,
          list.map((row, i) =>
            appendedEvent(row, b.streamId, sent[first + i]!.type, sent[first + i]!.sv, sent[first + i]!.data, metas[first + i]!),
          ),
        );
        first += b.events.length;
      }
      // An empty batch at 'any' has no row to tell its head: read it (rare).
      const unknown = batches.filter((b) => b.events.length === 0 && b.expected === 'any').map((b) => b.streamId);
      const heads = unknown.length > 0 ? await this.currentVersions(db, unknown) : new Map<string, number>();
      return batches.map((b, i) => {
        const list = stored.get(b.streamId) ?? [];
        const nextVersion = list.length > 0 ? list[list.length - 1]!.streamPosition : (exacts[i] ?? heads.get(b.streamId) ?? 0);
        return { streamId: b.streamId, nextVersion, stored: list };
      });
    }
  }

  async readStream(streamId: string, opts: { tx?: pg.PoolClient } = {}): Promise<StoredEvent[]> {
    const db: Queryable = opts.tx ?? this.pool;
    const res = await db.query<EventRow>(`SELECT ${COLUMNS} FROM ${this.t} WHERE stream_id = $1 ORDER BY stream_position`, [streamId]);
    return res.rows.map((r) => this.upcast(toStoredEvent(r)));
  }

  /** Several streams in one query: each id maps to its events in stream order (empty when it has none). */
  async readStreams(streamIds: readonly string[], opts: { tx?: pg.PoolClient } = {}): Promise<Map<string, StoredEvent[]>> {
    const out = new Map<string, StoredEvent[]>(streamIds.map((id) => [id, []]));
    if (streamIds.length === 0) return out;
    const db: Queryable = opts.tx ?? this.pool;
    const res = await db.query<EventRow>(
      `SELECT ${COLUMNS} FROM ${this.t} WHERE stream_id = ANY($1::text[]) ORDER BY stream_id, stream_position`,
      [streamIds],
    );
    for (const r of res.rows) out.get(r.stream_id)?.push(this.upcast(toStoredEvent(r)));
    return out;
  }

  /** Every stream in commit-independent position order (`global_position`). */
  async readAll(opts: { after?: bigint; limit: number; types?: string[] }): Promise<StoredEvent[]> {
    const params: unknown[] = [(opts.after ?? 0n).toString(), opts.limit];
    let filter = '';
    if (opts.types) {
      params.push(opts.types);
      filter = 'AND type = ANY($3::text[])';
    }
    const res = await this.pool.query<EventRow>(
      `SELECT ${COLUMNS} FROM ${this.t} WHERE global_position > $1 ${filter} ORDER BY global_position LIMIT $2`,
      params,
    );
    return res.rows.map((r) => this.upcast(toStoredEvent(r)));
  }

  /** The highest global position written (0 when empty): the total a replay's progress counts to. */
  async lastPosition(db: Queryable = this.pool): Promise<number> {
    const res = await db.query<{ max: string | null }>(`SELECT max(global_position)::text AS max FROM ${this.t}`);
    return Number(res.rows[0]?.max ?? 0);
  }

  async withTransaction<T>(fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
    return withTransaction(this.pool, fn);
  }

  private async currentVersions(db: Queryable, streamIds: readonly string[]): Promise<Map<string, number>> {
    const res = await db.query<{ stream_id: string; v: number }>(
      `SELECT stream_id, max(stream_position)::int AS v FROM ${this.t} WHERE stream_id = ANY($1::text[]) GROUP BY stream_id`,
      [streamIds],
    );
    return new Map(res.rows.map((r) => [r.stream_id, r.v]));
  }

  private async currentVersion(db: Queryable, streamId: string): Promise<number> {
    const res = await db.query<{ v: number }>(`SELECT coalesce(max(stream_position), 0)::int AS v FROM ${this.t} WHERE stream_id = $1`, [
      streamId,
    ]);
    return res.rows[0]?.v ?? 0;
  }

  private check(streamId: string, expected: ExpectedVersion, actual: number): void {
    if (expected === 'any') return;
    const want = expected === 'no_stream' ? 0 : expected;
    if (want !== actual) throw new VersionConflictError(streamId, expected, actual);
  }
}

// A duplicate event_id is a different error (the caller re-sent the same event), not a race.
const isStreamPositionClash = (e: unknown): boolean => {
  const c = (e as { constraint?: string }).constraint ?? '';
  return !c.includes('event_id');
};

/** The stream of a UNIQUE(stream_id, stream_position) violation: `Key (stream_id, stream_position)=(<id>, <n>) already exists.` */
const clashingStream = (e: unknown): string | undefined => {
  const detail = (e as { detail?: string }).detail ?? '';
  return /^Key \(stream_id, stream_position\)=\((.*), (\d+)\) already exists\.?$/s.exec(detail)?.[1];
};

/** BEGIN / COMMIT around `fn` on one pooled client; ROLLBACK on any error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

/** The W3C `traceparent` of the active OpenTelemetry context, if a span is recording. */
function activeTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}
