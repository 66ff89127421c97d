import type pg from 'pg';
import { listSql, rangeSql, type ListParams, type StripeList } from '@meterflow/stripe-api';
import { signingSecrets } from '../../domain/webhook-endpoint.decider.js';
import type {
  ClaimedDelivery,
  DeliveryQueue,
  EventBodies,
  EventFilter,
  EventLog,
  AttemptResult,
  IncomingEvent,
} from '../../application/ports.js';

/** Deliveries an event is still waiting for (Stripe's `pending_webhooks`): pending, or failed for good. */
const PENDING = `(SELECT count(*) FROM webhook_deliveries p WHERE p.event_id = e.id AND p.status IN ('pending', 'failed'))::int`;

const withPending = (body: string, pending: number): Record<string, unknown> => ({
  ...(JSON.parse(body) as Record<string, unknown>),
  pending_webhooks: pending,
});

/** `invoice.*` -> a LIKE pattern (`_` is literal in event types). */
const likePattern = (t: string): string => t.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%');

/** A stored event: its body, kept here before migration 0005, or where MF_EVENTS holds it. */
interface BodyRef {
  body: string | null;
  stream_seq: string | null;
}

/**
 * The Stripe events the gateway consumed from MF_EVENTS (`stripe_events`, an index: id, type,
 * time and the stream sequence of the body) and their webhook deliveries: recording an event
 * creates a delivery for every enabled endpoint subscribed to its type, in the same statement.
 * The bodies are read from the stream (`EventBodies`) for the events a page or a delivery needs;
 * an event whose body the stream no longer holds is left out of lists and not found.
 */
export class PgEventLog implements EventLog, DeliveryQueue {
  constructor(
    private readonly pool: pg.Pool,
    private readonly bodies: EventBodies,
  ) {}

  async record(events: readonly IncomingEvent[], now: Date): Promise<number> {
    if (events.length === 0) return 0;
    const { rowCount } = await this.pool.query(
      `WITH ins AS (
         INSERT INTO stripe_events (id, type, created, stream_seq, traceparent)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[])
         ON CONFLICT (id) DO NOTHING
         RETURNING id, type)
       INSERT INTO webhook_deliveries (event_id, endpoint_id, next_attempt_at)
       SELECT ins.id, w.id, $6 FROM ins
       JOIN webhook_endpoints w ON w.status = 'enabled' AND NOT w.deleted AND w.enabled_events && ARRAY[ins.type, '*']`,
      [
        events.map((e) => e.id),
        events.map((e) => e.type),
        events.map((e) => e.created),
        events.map((e) => e.streamSeq),
        events.map((e) => e.traceparent ?? null),
        now,
      ],
    );
    return rowCount ?? 0;
  }

  /** Each row's body, in order: stored with it, or read from the stream (undefined: gone from it). */
  private async resolve(rows: readonly BodyRef[]): Promise<(string | undefined)[]> {
    const seqs = rows.filter((r) => r.body === null && r.stream_seq !== null).map((r) => Number(r.stream_seq));
    const loaded = seqs.length > 0 ? await this.bodies.load(seqs) : new Map<number, string>();
    return rows.map((r) => r.body ?? (r.stream_seq === null ? undefined : loaded.get(Number(r.stream_seq))));
  }

  async list(f: EventFilter, lp: ListParams): Promise<StripeList<Record<string, unknown>>> {
    const where: string[] = ['e.received_at > $1'];
    const args: unknown[] = [f.receivedAfter];
    if (f.types) {
      args.push(f.types);
      where.push(`e.type = ANY($${args.length}::text[])`);
    }
    if (f.typePattern !== undefined) {
      args.push(likePattern(f.typePattern));
      where.push(`e.type LIKE $${args.length}`);
    }
    const created = rangeSql(f.created, 'e.created', args.length + 1);
    where.push(...created.conditions);
    args.push(...created.args);
    if (f.deliverySuccess !== undefined)
      where.push(
        `${f.deliverySuccess ? 'NOT ' : ''}EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.event_id = e.id AND p.status IN ('pending', 'failed'))`,
      );
    const page = listSql(lp, { idColumn: 'e.id', firstArg: args.length + 1 });
    if (page.where) where.push(page.where);
    const { rows } = await this.pool.query<BodyRef & { pending: number }>(
      `SELECT e.body, e.stream_seq, ${PENDING} AS pending FROM stripe_events e WHERE ${where.join(' AND ')} ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
      [...args, ...page.args],
    );
    // The page is cut (limit, has_more) before the bodies are read: only its own are.
    const list = page.finish(rows, '/v1/events');
    const bodies = await this.resolve(list.data);
    return {
      ...list,
      data: list.data.flatMap((r, i) => (bodies[i] === undefined ? [] : [withPending(bodies[i], r.pending)])),
    };
  }

  async retrieve(id: string, receivedAfter: Date): Promise<Record<string, unknown> | undefined> {
    const { rows } = await this.pool.query<BodyRef & { pending: number }>(
      `SELECT e.body, e.stream_seq, ${PENDING} AS pending FROM stripe_events e WHERE e.id = $1 AND e.received_at > $2`,
      [id, receivedAfter],
    );
    if (!rows[0]) return undefined;
    const [body] = await this.resolve(rows);
    return body === undefined ? undefined : withPending(body, rows[0].pending);
  }

  async prune(before: Date): Promise<number> {
    const { rowCount } = await this.pool.query(
      `DELETE FROM stripe_events WHERE id IN (SELECT id FROM stripe_events WHERE received_at < $1 LIMIT 10000)`,
      [before],
    );
    return rowCount ?? 0;
  }

  // ---- DeliveryQueue ----

  async endpointsWithDueWork(now: Date): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT w.id FROM webhook_endpoints w
       WHERE w.status = 'enabled' AND NOT w.deleted
         AND EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.endpoint_id = w.id AND d.status = 'pending' AND d.next_attempt_at <= $1)`,
      [now],
    );
    return rows.map((r) => r.id);
  }

  async claim(slots: readonly { endpointId: string; free: number }[], now: Date, leaseUntil: Date): Promise<ClaimedDelivery[]> {
    if (slots.length === 0) return [];
    const { rows } = await this.pool.query<{
      event_id: string;
      endpoint_id: string;
      attempts: number;
      first_attempt_at: Date | null;
      url: string;
      secret: string;
      previous_secret: string | null;
      previous_secret_expires_at: string | null;
      body: string | null;
      stream_seq: string | null;
      traceparent: string | null;
      pending: number;
    }>(
      `WITH c AS (
         SELECT d.event_id, d.endpoint_id
         FROM unnest($1::text[], $2::int[]) AS s(endpoint_id, free)
         CROSS JOIN LATERAL (
           SELECT x.event_id, x.endpoint_id FROM webhook_deliveries x
           WHERE x.endpoint_id = s.endpoint_id AND x.status = 'pending' AND x.next_attempt_at <= $3
           ORDER BY x.next_attempt_at LIMIT s.free
           FOR UPDATE SKIP LOCKED) d)
       UPDATE webhook_deliveries d SET next_attempt_at = $4
       FROM c, webhook_endpoints w, stripe_events e
       WHERE d.event_id = c.event_id AND d.endpoint_id = c.endpoint_id AND w.id = d.endpoint_id AND e.id = d.event_id
       RETURNING d.event_id, d.endpoint_id, d.attempts, d.first_attempt_at, w.url, w.secret, w.previous_secret, w.previous_secret_expires_at, e.body, e.stream_seq, e.traceparent, ${PENDING} AS pending`,
      [slots.map((s) => s.endpointId), slots.map((s) => s.free), now, leaseUntil],
    );
    const bodies = await this.resolve(rows);
    const claimed = rows.map((r, i): Omit<ClaimedDelivery, 'body'> & { body: string | undefined } => ({
      eventId: r.event_id,
      endpointId: r.endpoint_id,
      url: r.url,
      secrets: signingSecrets(
        {
          secret: r.secret,
          previous_secret: r.previous_secret,
          previous_secret_expires_at: r.previous_secret_expires_at === null ? null : Number(r.previous_secret_expires_at),
        },
        Math.floor(now.getTime() / 1000),
      ),
      body: bodies[i],
      traceparent: r.traceparent,
      attempts: r.attempts,
      firstAttemptAt: r.first_attempt_at,
      pendingWebhooks: r.pending,
    }));
    // A body the stream no longer holds (a retention shorter than the retry window) can never be
    // sent: that delivery has failed for good, with the reason recorded as its attempt.
    const ready: ClaimedDelivery[] = [];
    for (const d of claimed) {
      if (d.body !== undefined) ready.push({ ...d, body: d.body });
      else
        await this.settle(
          d,
          { at: now, durationMs: 0, status: null, error: 'the event is no longer in MF_EVENTS' },
          { succeeded: false, next: null },
        );
    }
    return ready;
  }

  async settle(
    d: Pick<ClaimedDelivery, 'eventId' | 'endpointId'>,
    a: AttemptResult,
    outcome: { succeeded: true } | { succeeded: false; next: Date | null },
  ): Promise<void> {
    const status = outcome.succeeded ? 'succeeded' : outcome.next ? 'pending' : 'failed';
    const next = outcome.succeeded ? null : outcome.next;
    // A delivery canceled meanwhile (its endpoint deleted) stays canceled; the attempt is not recorded.
    await this.pool.query(
      `WITH u AS (
         UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, first_attempt_at = coalesce(first_attempt_at, $4),
           last_attempt_at = $4, next_attempt_at = coalesce($5, next_attempt_at)
         WHERE event_id = $1 AND endpoint_id = $2 AND status = 'pending'
         RETURNING attempts)
       INSERT INTO webhook_attempts (event_id, endpoint_id, attempt, attempted_at, duration_ms, status_code, error)
       SELECT $1, $2, u.attempts, $4, $6, $7, $8 FROM u`,
      [d.eventId, d.endpointId, status, a.at, next, Math.round(a.durationMs), a.status, a.error],
    );
  }
}
