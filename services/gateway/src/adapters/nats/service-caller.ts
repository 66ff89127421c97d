import { type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { ErrorShape } from '@meterflow/kernel';
import { DomainError } from '@meterflow/kernel';
import type { NatsNames, ServiceName } from '@meterflow/contracts';
import { connectionInbox, headersWithTrace, natsConnected, unavailable } from '@meterflow/messaging';
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

/**
 * Request/reply over one wildcard inbox subscription: replies are matched by token, timeouts
 * swept by one timer. (nats.js's `request()` builds two Error objects with stack traces and a
 * timer per call, a visible share of the gateway's CPU at thousands of requests per second.)
 */
export class NatsServiceCaller implements ServiceCaller {
  private readonly inbox: string;
  private readonly pending = new Map<string, Pending>();
  private readonly sub: Subscription;
  private readonly sweeper: NodeJS.Timeout;
  private seq = 0;
  private outbox: { subject: string; payload: string; reply: string; headers: MsgHdrs | undefined }[] = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: NatsNames,
    private readonly timeoutMs = 30_000,
  ) {
    this.inbox = connectionInbox(nc);
    const prefixLength = this.inbox.length + 1;
    this.sub = nc.subscribe(`${this.inbox}.*`, {
      callback: (err, msg) => {
        if (err) return;
        const p = this.pending.get(msg.subject.slice(prefixLength));
        if (!p) return;
        this.pending.delete(msg.subject.slice(prefixLength));
        // The server answers 503 with an empty body when nobody subscribes to the subject.
        if (msg.data.length === 0 && msg.headers?.code === 503) {
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
        subject: this.names.rpcSubject(service, op),
        payload,
        reply: `${this.inbox}.${token}`,
        headers: headers.keys().length > 0 ? headers : undefined,
      });
      // Requests parsed in the same event-loop turn leave in one socket write.
      if (this.outbox.length === 1) setImmediate(() => this.flush());
    });
    return resultOf(text);
  }

  private flush(): void {
    const batch = this.outbox;
    this.outbox = [];
    for (const m of batch) {
      try {
        this.nc.publish(m.subject, m.payload, { reply: m.reply, ...(m.headers ? { headers: m.headers } : {}) });
      } catch (e) {
        const token = m.reply.slice(this.inbox.length + 1);
        const p = this.pending.get(token);
        this.pending.delete(token);
        p?.reject(unavailable(p.service, p.op, e));
      }
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sub.unsubscribe();
    for (const p of this.pending.values()) p.reject(unavailable(p.service, p.op, 'closed'));
    this.pending.clear();
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
  }
}

export function resultOf(text: string): string {
  if (text.startsWith(OK_PREFIX) && text.endsWith('}')) return text.slice(OK_PREFIX.length, -1);
  const reply = JSON.parse(text) as { ok: boolean; result?: unknown; error?: ErrorShape };
  if (reply.ok) return JSON.stringify(reply.result ?? {});
  throw DomainError.fromShape(reply.error ?? { type: 'api_error', message: 'An unknown error occurred', status: 500 });
}
