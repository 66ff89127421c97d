import pg from 'pg';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { HEADERS, STRIPE_EVENT_ANNOUNCED, STRIPE_EVENT_EMITTED, type NatsNames, type ServiceName } from '@meterflow/contracts';
import { eventsChannel, quoteIdent, withRowIdsText, type StripeEventRenderer } from '@meterflow/event-store';
import { contextFromTraceparent, eventsPublished, SpanKind, traceparentOf, withSpan } from '@meterflow/observability';
import { JetStreamPublisher, type JetStreamAck } from './jetstream-publisher.js';

export interface RelayLogger {
  error(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface OutboxRelayOptions {
  pool: pg.Pool;
  schema: string;
  nc: NatsConnection;
  names: NatsNames;
  service: ServiceName;
  batchSize?: number;
  /** Poll interval when idle (a NOTIFY from the insert trigger wakes it sooner). */
  idleMs?: number;
  logger?: RelayLogger;
  /** Cursor name in `relay_cursor` (default `outbox`). */
  cursorName?: string;
  /** LISTEN for inserts (default true). */
  listen?: boolean;
  /** Renders `StripeEventAnnounced` facts into their Stripe event objects (required if the store holds any; `announcementRenderer`). */
  render?: StripeEventRenderer;
  /**
   * Publish the domain events on `mf.svc.<service>.<Type>` (`MF_SVC_<SERVICE>`) as well as the
   * Stripe events (default true). False: only the Stripe events (`MF_EVENTS`), the cursor passes the rest.
   */
  domainEvents?: boolean;
}

/**
 * A row as the relay reads it: `data` and `metadata` as their JSON text (never parsed: the
 * published body is built from the text), plus the few fields the subject and headers need.
 * `data` is null for a row that is not published (a domain event, with `domainEvents: false`).
 */
interface RelayRow {
  global_position: string;
  stream_id: string;
  stream_position: number;
  transaction_id: string;
  type: string;
  schema_version: number;
  data: string | null;
  metadata: string | null;
  /** The row's `event_id` column (never null). */
  event_id: string;
  traceparent: string | null;
  correlation_id: string | null;
  causation_id: string | null;
  /** Stripe events (emitted or announced) only: `data->>'id'`, `data->>'type'` and `data->>'created'`. */
  stripe_id: string | null;
  stripe_type: string | null;
  stripe_created: string | null;
}

/** A row the relay publishes: its JSON text was read. */
type PublishedRow = RelayRow & { data: string; metadata: string };

/**
 * Publishes the committed events of a service schema to JetStream, in commit-safe order: its
 * Stripe events always, its domain events unless `domainEvents` is false.
 * The cursor is (transaction_id, global_position) and rows are only read once their writing
 * transaction is older than every running one (`pg_snapshot_xmin`): a slow transaction that
 * took a lower position is waited for, never skipped. At-least-once; `Nats-Msg-Id` makes
 * re-publishing within the 2-minute duplicate window harmless, consumers' inboxes do the rest.
 */
export class OutboxRelay {
  private readonly opts: Required<Omit<OutboxRelayOptions, 'logger' | 'render'>> & { logger?: RelayLogger; render?: StripeEventRenderer };
  private publisher: JetStreamPublisher | undefined;
  private readonly events: string;
  private readonly cursor: string;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private listener: pg.Client | undefined;
  private listening: Promise<void> | undefined;
  private nextListenAt = 0;
  private draining: Promise<number> | undefined;

  constructor(opts: OutboxRelayOptions) {
    this.opts = { batchSize: 500, idleMs: 100, cursorName: 'outbox', listen: true, domainEvents: true, ...opts };
    this.events = `${quoteIdent(opts.schema)}.events`;
    this.cursor = `${quoteIdent(opts.schema)}.relay_cursor`;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.opts.listen) await this.startListening();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    await this.listening;
    while (this.draining) await this.draining.catch(() => undefined);
    this.publisher?.close();
    this.publisher = undefined;
    const l = this.listener;
    this.listener = undefined;
    await l?.end().catch(() => undefined);
  }

  /** Publish everything committed and visible now (the cursor passes the rest); returns how many events were published. */
  async drainOnce(): Promise<number> {
    // One drain at a time per relay instance (start() and a test may both call it).
    while (this.draining) await this.draining.catch(() => undefined);
    this.draining = this.drain();
    try {
      return await this.draining;
    } finally {
      this.draining = undefined;
    }
  }

  private async drain(): Promise<number> {
    const { pool, schema, cursorName, batchSize } = this.opts;
    // Session advisory lock: two replicas of a service never relay the same schema at once.
    const lockClient = await pool.connect();
    let total = 0;
    try {
      const key = `mf_relay:${schema}:${cursorName}`;
      const got = await lockClient.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [key]);
      if (!got.rows[0]?.ok) return 0;
      try {
        await pool.query(`INSERT INTO ${this.cursor} (name) VALUES ($1) ON CONFLICT DO NOTHING`, [cursorName]);
        for (;;) {
          const cur = await pool.query<{ transaction_id: string; global_position: string }>(
            `SELECT transaction_id::text, global_position::text FROM ${this.cursor} WHERE name = $1`,
            [cursorName],
          );
          const c = cur.rows[0]!;
          const rows = await pool.query<RelayRow>(
            // Qualified names in WHERE and ORDER BY: a bare ORDER BY name would sort by the text
            // output column ("100" before "99") and a batch could end past rows it never read.
            // A row that is not published is read for the cursor only: its JSON is not rendered as text.
            `SELECT e.global_position::text AS global_position, e.transaction_id::text AS transaction_id, e.type, e.schema_version,
                    e.stream_id, e.stream_position,
                    CASE WHEN $5 OR e.type = ANY($4::text[]) THEN e.data::text END AS data,
                    CASE WHEN $5 OR e.type = ANY($4::text[]) THEN e.metadata::text END AS metadata,
                    e.event_id::text AS event_id, e.metadata->>'traceparent' AS traceparent,
                    e.metadata->>'correlationId' AS correlation_id, e.metadata->>'causationId' AS causation_id,
                    CASE WHEN e.type = ANY($4::text[]) THEN e.data->>'id' END AS stripe_id,
                    CASE WHEN e.type = ANY($4::text[]) THEN e.data->>'type' END AS stripe_type,
                    CASE WHEN e.type = ANY($4::text[]) THEN e.data->>'created' END AS stripe_created
               FROM ${this.events} e
              WHERE (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)
                AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
              ORDER BY e.transaction_id, e.global_position
              LIMIT $3`,
            [c.transaction_id, c.global_position, batchSize, [STRIPE_EVENT_EMITTED, STRIPE_EVENT_ANNOUNCED], this.opts.domainEvents],
          );
          if (rows.rows.length === 0) break;
          const published = rows.rows.filter((r): r is PublishedRow => r.data !== null);
          await this.renderAnnounced(published);
          // Every publish of the batch must be acked before the cursor moves; one failure fails
          // the drain and the whole batch is published again (Nats-Msg-Id drops the repeats).
          const publisher = (this.publisher ??= new JetStreamPublisher(this.opts.nc));
          await Promise.all(published.map((r) => this.publish(publisher, r)));
          const last = rows.rows[rows.rows.length - 1]!;
          await pool.query(`UPDATE ${this.cursor} SET transaction_id = $2::xid8, global_position = $3::bigint WHERE name = $1`, [
            cursorName,
            last.transaction_id,
            last.global_position,
          ]);
          total += published.length;
          eventsPublished.inc({ service: this.opts.service }, published.length);
          if (rows.rows.length < batchSize) break;
        }
      } finally {
        await lockClient.query('SELECT pg_advisory_unlock(hashtext($1))', [key]).catch(() => undefined);
      }
    } finally {
      lockClient.release();
    }
    return total;
  }

  /** Announced Stripe events get their rendered object as body (in place); the rest are published as stored. */
  private async renderAnnounced(rows: PublishedRow[]): Promise<void> {
    const announced = rows.filter((r) => r.type === STRIPE_EVENT_ANNOUNCED);
    if (announced.length === 0) return;
    if (!this.opts.render)
      throw new Error(`outbox relay (${this.opts.schema}): ${STRIPE_EVENT_ANNOUNCED} stored but no renderer configured`);
    const bodies = await this.opts.render.render(
      announced.map((r) => ({ streamId: r.stream_id, streamPosition: r.stream_position, data: JSON.parse(r.data) })),
    );
    announced.forEach((r, i) => (r.data = bodies[i]!));
  }

  /** A traced fact is published in a producer span of its command's trace; consumers continue from it. */
  private publish(publisher: JetStreamPublisher, r: PublishedRow): Promise<JetStreamAck> {
    if (!r.traceparent) return this.send(publisher, r, undefined);
    const subject = r.stripe_type !== null ? String(r.stripe_type) : r.type;
    return withSpan(`publish ${subject}`, { kind: SpanKind.PRODUCER, parent: contextFromTraceparent(r.traceparent) }, () =>
      this.send(publisher, r, traceparentOf() ?? r.traceparent ?? undefined),
    );
  }

  private send(publisher: JetStreamPublisher, r: PublishedRow, traceparent: string | undefined): Promise<JetStreamAck> {
    const { names, service } = this.opts;
    const h = natsHeaders();
    if (traceparent) h.set('traceparent', traceparent);
    if (r.correlation_id) h.set('mf-correlation-id', r.correlation_id);
    if (r.causation_id) h.set('mf-causation-id', r.causation_id);
    h.set('mf-event-type', r.type);
    if (r.type === STRIPE_EVENT_EMITTED || r.type === STRIPE_EVENT_ANNOUNCED) {
      // The Stripe event object is the body: as stored, or as rendered from an announcement. Its
      // id (Nats-Msg-Id), type (the subject) and time (this header) can be read without the body.
      if (r.stripe_created !== null) h.set(HEADERS.stripeCreated, r.stripe_created);
      return publisher.publish(names.eventSubject(String(r.stripe_type ?? undefined)), r.data, {
        msgId: String(r.stripe_id ?? undefined),
        headers: h,
      });
    }
    // JSON text by hand: type is a plain identifier-like name but is escaped anyway.
    // The metadata as events carry it: the row's event and stream ids first (`withRowIdsText`).
    const metadata = withRowIdsText(r.metadata, r.event_id, r.stream_id);
    const envelope = `{"type":${JSON.stringify(r.type)},"schemaVersion":${r.schema_version},"data":${r.data},"metadata":${metadata}}`;
    return publisher.publish(names.serviceEventSubject(service, r.type), envelope, { msgId: r.event_id, headers: h });
  }

  private async run(): Promise<void> {
    while (this.running) {
      // The LISTEN connection died with its server: listen again (polling covers the gap).
      if (this.opts.listen && !this.listener && !this.listening && Date.now() >= this.nextListenAt) {
        this.listening = this.startListening().finally(() => (this.listening = undefined));
      }
      let n = 0;
      try {
        n = await this.drainOnce();
      } catch (e) {
        this.opts.logger?.error({ err: e, schema: this.opts.schema }, 'outbox relay: drain failed');
        await this.sleep(1000);
        continue;
      }
      if (n === 0) await this.sleep(this.opts.idleMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  private async startListening(): Promise<void> {
    const pool = this.opts.pool as pg.Pool & { options: pg.PoolConfig };
    const client = new pg.Client(pool.options);
    client.on('notification', () => this.wake?.());
    client.on('error', (e) => {
      this.opts.logger?.error({ err: e }, 'outbox relay: listener failed; polling');
      if (this.listener === client) this.listener = undefined;
      this.nextListenAt = Date.now() + 1_000;
      void client.end().catch(() => undefined);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${quoteIdent(eventsChannel(this.opts.schema))}`);
      if (this.running) this.listener = client;
      else await client.end().catch(() => undefined);
    } catch (e) {
      // Polling alone is still correct, only slower.
      this.opts.logger?.error({ err: e }, 'outbox relay: LISTEN unavailable; polling');
      this.nextListenAt = Date.now() + 1_000;
      await client.end().catch(() => undefined);
    }
  }
}
