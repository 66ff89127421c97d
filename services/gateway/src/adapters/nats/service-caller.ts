import { type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { ErrorShape } from '@meterflow/kernel';
import { DomainError } from '@meterflow/kernel';
import { API_ROUTES, type NatsNames, type ServiceName } from '@meterflow/contracts';
import {
  connectionInbox,
  encodeBatchLine,
  headersWithTrace,
  joinBatch,
  natsConnected,
  splitBatch,
  unavailable,
} from '@meterflow/messaging';
import { SpanKind, withSpan } from '@meterflow/observability';
import type { ServiceCaller } from '../../application/ports.js';

export { SERVICE_CALLER, type ServiceCaller } from '../../application/ports.js';

// `encodeJson({ ok: true, result })` always starts with this (key order is insertion order).
const OK_PREFIX = '{"ok":true,"result":';

interface Pending {
  resolve: (text: string) => void;
  reject: (e: DomainError) => void;
  service: string;
  op: string;
  deadline: number;
}

interface Outgoing {
  service: ServiceName;
  op: string;
  subject: string;
  payload: string;
  token: string;
  headers: MsgHdrs | undefined;
}

/** A batch in flight: the calls it carries, by token, in order. */
interface PendingBatch {
  calls: Outgoing[];
  deadline: number;
}

/** At most this many calls, and about this many bytes of requests, in one batched message. */
const BATCH_MAX_CALLS = 256;
const BATCH_MAX_BYTES = 256 * 1024;
/** After a batch found no responder (a replica from before batched requests), calls go one by one this long. */
const UNBATCHED_MS = 30_000;

/**
 * Request/reply over one wildcard inbox subscription: replies are matched by token, timeouts
 * swept by one timer. (nats.js's `request()` builds two Error objects with stack traces and a
 * timer per call, a visible share of the gateway's CPU at thousands of requests per second.)
 * Calls of one op made in the same event-loop turn (the meter events whose idempotency claims one
 * cycle answered, say) leave as one batched request (`rpcBatchSubject`) and come back as one
 * reply: one NATS message each way instead of one per call. Only the ops marked `batched` in
 * API_ROUTES (small, bounded replies); a call's trace headers travel on its line.
 */
export class NatsServiceCaller implements ServiceCaller {
  private readonly inbox: string;
  private readonly pending = new Map<string, Pending>();
  private readonly sub: Subscription;
  private readonly sweeper: NodeJS.Timeout;
  private seq = 0;
  private outbox: Outgoing[] = [];
  private readonly batches = new Map<string, PendingBatch>();
  /** Subjects whose batched form found no responder, until when. */
  private readonly unbatched = new Map<string, number>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: NatsNames,
    private readonly timeoutMs = 30_000,
    /** The subjects whose calls are batched: the routes marked `batched` in API_ROUTES. */
    private readonly batched: ReadonlySet<string> = batchedSubjects(names),
  ) {
    this.inbox = connectionInbox(nc);
    const prefixLength = this.inbox.length + 1;
    this.sub = nc.subscribe(`${this.inbox}.*`, {
      callback: (err, msg) => {
        if (err) return;
        const token = msg.subject.slice(prefixLength);
        // The server answers 503 with an empty body when nobody subscribes to the subject.
        const noResponders = msg.data.length === 0 && msg.headers?.code === 503;
        const batch = this.batches.get(token);
        if (batch) {
          this.batches.delete(token);
          if (noResponders) this.unbatch(batch.calls);
          else this.settleBatch(batch.calls, msg.string());
          return;
        }
        const p = this.pending.get(token);
        if (!p) return;
        this.pending.delete(token);
        if (noResponders) {
          p.reject(unavailable(p.service, p.op, 'no responders'));
          return;
        }
        p.resolve(msg.string());
      },
    });
    this.sweeper = setInterval(() => this.sweep(), Math.min(250, timeoutMs));
    this.sweeper.unref();
  }

  callRaw(service: ServiceName, op: string, payload: string): Promise<string> {
    return withSpan(`rpc ${service}.${op}`, { kind: SpanKind.CLIENT }, () => this.send(service, op, payload));
  }

  private async send(service: ServiceName, op: string, payload: string): Promise<string> {
    // NATS down: a 503 now, not a request buffered until the timeout.
    if (!natsConnected(this.nc)) throw unavailable(service, op, 'not connected to NATS');
    const token = (this.seq = (this.seq + 1) % Number.MAX_SAFE_INTEGER).toString(36);
    const text = await new Promise<string>((resolve, reject) => {
      this.pending.set(token, { resolve, reject, service, op, deadline: Date.now() + this.timeoutMs });
      const headers = headersWithTrace();
      this.outbox.push({
        service,
        op,
        subject: this.names.rpcSubject(service, op),
        payload,
        token,
        headers: headers.keys().length > 0 ? headers : undefined,
      });
      // Requests parsed in the same event-loop turn leave in one socket write.
      if (this.outbox.length === 1) setImmediate(() => this.flush());
    });
    return resultOf(text);
  }

  private flush(): void {
    const out = this.outbox;
    this.outbox = [];
    // A batched op's calls: together (in call order, in chunks); the rest one by one.
    const groups = new Map<string, Outgoing[]>();
    const now = Date.now();
    for (const m of out) {
      if (!this.batched.has(m.subject) || (this.unbatched.get(m.subject) ?? 0) > now) {
        this.publishOne(m);
        continue;
      }
      let g = groups.get(m.subject);
      if (!g) groups.set(m.subject, (g = []));
      g.push(m);
    }
    for (const g of groups.values()) {
      let chunk: Outgoing[] = [];
      let bytes = 0;
      for (const m of g) {
        if (chunk.length > 0 && (chunk.length >= BATCH_MAX_CALLS || bytes + m.payload.length > BATCH_MAX_BYTES)) {
          this.publishBatch(chunk);
          chunk = [];
          bytes = 0;
        }
        chunk.push(m);
        bytes += m.payload.length + 1;
      }
      this.publishBatch(chunk);
    }
  }

  private publishOne(m: Outgoing): void {
    try {
      this.nc.publish(m.subject, m.payload, { reply: `${this.inbox}.${m.token}`, ...(m.headers ? { headers: m.headers } : {}) });
    } catch (e) {
      this.fail([m], e);
    }
  }

  private publishBatch(calls: Outgoing[]): void {
    if (calls.length === 1) return this.publishOne(calls[0]!);
    // Upper case: call tokens are base-36 numbers in lower case, so the two never meet.
    const token = `B${(this.seq = (this.seq + 1) % Number.MAX_SAFE_INTEGER).toString(36)}`;
    this.batches.set(token, { calls, deadline: Date.now() + this.timeoutMs });
    try {
      const body = joinBatch(calls.map((c) => encodeBatchLine(c.payload, c.headers)));
      this.nc.publish(this.names.rpcBatchSubject(calls[0]!.service, calls[0]!.op), body, {
        reply: `${this.inbox}.${token}`,
      });
    } catch (e) {
      this.batches.delete(token);
      this.fail(calls, e);
    }
  }

  /** A batch's reply: one reply per line, in the order of its calls. */
  private settleBatch(calls: readonly Outgoing[], text: string): void {
    const replies = splitBatch(text);
    calls.forEach((c, i) => {
      const p = this.pending.get(c.token);
      if (!p) return; // timed out meanwhile
      this.pending.delete(c.token);
      const r = replies[i];
      if (r === undefined) p.reject(unavailable(p.service, p.op, `a batch reply with ${replies.length} of ${calls.length} answers`));
      else p.resolve(r);
    });
  }

  /** No responder takes the batched form (a replica from before it): send each call alone, and the next ones for a while. */
  private unbatch(calls: readonly Outgoing[]): void {
    this.unbatched.set(calls[0]!.subject, Date.now() + UNBATCHED_MS);
    for (const c of calls) if (this.pending.has(c.token)) this.publishOne(c);
  }

  private fail(calls: readonly Outgoing[], e: unknown): void {
    for (const c of calls) {
      const p = this.pending.get(c.token);
      this.pending.delete(c.token);
      p?.reject(unavailable(p.service, p.op, e));
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sub.unsubscribe();
    for (const p of this.pending.values()) p.reject(unavailable(p.service, p.op, 'closed'));
    this.pending.clear();
    this.batches.clear();
  }

  private sweep(): void {
    const now = Date.now();
    // A reply cannot cross a broken connection: calls in flight when it dropped fail now.
    const down = !natsConnected(this.nc);
    for (const [token, p] of this.pending) {
      if (down || p.deadline <= now) {
        this.pending.delete(token);
        p.reject(unavailable(p.service, p.op, down ? 'not connected to NATS' : 'timeout'));
      }
    }
    // Its calls were rejected above (same deadline): forget the batch.
    for (const [token, b] of this.batches) if (down || b.deadline <= now) this.batches.delete(token);
  }
}

/** The subjects of the API routes marked `batched` (small, bounded replies). */
export const batchedSubjects = (names: NatsNames): Set<string> =>
  new Set(API_ROUTES.filter((r) => r.batched).map((r) => names.rpcSubject(r.service, r.op)));

export function resultOf(text: string): string {
  if (text.startsWith(OK_PREFIX) && text.endsWith('}')) return text.slice(OK_PREFIX.length, -1);
  const reply = JSON.parse(text) as { ok: boolean; result?: unknown; error?: ErrorShape };
  if (reply.ok) return JSON.stringify(reply.result ?? {});
  throw DomainError.fromShape(reply.error ?? { type: 'api_error', message: 'An unknown error occurred', status: 500 });
}
