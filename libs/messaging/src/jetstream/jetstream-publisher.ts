import { headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { connectionInbox } from '../connection.js';

/** JetStream's answer to a stored (or de-duplicated) message. */
export interface JetStreamAck {
  stream: string;
  seq: number;
  /** The stream already held a message with this `Nats-Msg-Id` (inside its duplicate window). */
  duplicate: boolean;
  domain?: string;
}

/** A publish JetStream did not confirm: an API error, no stream / no responders, a timeout or close(). */
export class JetStreamPublishError extends Error {
  override readonly name = 'JetStreamPublishError';
  constructor(
    message: string,
    readonly subject: string,
    readonly reason: 'api_error' | 'no_responders' | 'timeout' | 'closed' | 'publish_failed' | 'invalid_ack',
    /** JetStream's `err_code` for an API error (e.g. 10077 maximum messages exceeded). */
    readonly errCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface JetStreamPublishOptions {
  /** Sent as `Nats-Msg-Id`: the stream drops a second message with the same id within its duplicate window. */
  msgId?: string;
  /** Extra headers; `Nats-Msg-Id` is set on this object when `msgId` is given. */
  headers?: MsgHdrs;
}

export interface JetStreamPublisherOptions {
  /** How long to wait for the ack (default 5 s, as nats.js's `js.publish`). */
  timeoutMs?: number;
}

interface Pending {
  resolve: (ack: JetStreamAck) => void;
  reject: (e: JetStreamPublishError) => void;
  subject: string;
  deadline: number;
}

/**
 * JetStream publishing over one wildcard inbox subscription: each message goes out with
 * `nc.publish(subject, data, { reply: <inbox>.<token> })`, acks are matched by token and
 * timeouts swept by one timer. nats.js's `js.publish` goes through `nc.request()`, which builds
 * two Error objects with stack traces and a timer per call: 12-20% of the CPU of a service
 * relaying thousands of events per second. (Same ack semantics as `js.publish`, no retries.)
 */
export class JetStreamPublisher {
  private readonly inbox: string;
  private readonly prefixLength: number;
  private readonly pending = new Map<string, Pending>();
  private readonly sub: Subscription;
  private readonly sweeper: NodeJS.Timeout;
  private readonly timeoutMs: number;
  private seq = 0;
  private closed = false;

  constructor(
    private readonly nc: NatsConnection,
    opts: JetStreamPublisherOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.inbox = connectionInbox(nc);
    this.prefixLength = this.inbox.length + 1;
    this.sub = nc.subscribe(`${this.inbox}.*`, {
      callback: (err, msg) => {
        if (err) {
          this.rejectAll('closed', `reply subscription failed: ${err.message}`);
          return;
        }
        this.onReply(msg);
      },
    });
    this.sweeper = setInterval(() => this.sweep(), Math.min(250, this.timeoutMs));
    this.sweeper.unref();
  }

  /** How many publishes await their ack. */
  get inFlight(): number {
    return this.pending.size;
  }

  publish(subject: string, data: string | Uint8Array, opts: JetStreamPublishOptions = {}): Promise<JetStreamAck> {
    if (this.closed) return Promise.reject(new JetStreamPublishError(`publish to ${subject}: publisher closed`, subject, 'closed'));
    const token = (this.seq = (this.seq + 1) % Number.MAX_SAFE_INTEGER).toString(36);
    let h = opts.headers;
    if (opts.msgId) {
      h ??= natsHeaders();
      h.set('Nats-Msg-Id', opts.msgId);
    }
    return new Promise<JetStreamAck>((resolve, reject) => {
      this.pending.set(token, { resolve, reject, subject, deadline: Date.now() + this.timeoutMs });
      try {
        this.nc.publish(subject, data, { reply: `${this.inbox}.${token}`, ...(h ? { headers: h } : {}) });
      } catch (e) {
        this.pending.delete(token);
        reject(
          new JetStreamPublishError(`publish to ${subject} failed: ${(e as Error).message}`, subject, 'publish_failed', undefined, {
            cause: e,
          }),
        );
      }
    });
  }

  /** Stops listening for acks; every pending publish is rejected. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.sub.unsubscribe();
    this.rejectAll('closed', 'publisher closed');
  }

  private onReply(msg: Msg): void {
    const token = msg.subject.slice(this.prefixLength);
    const p = this.pending.get(token);
    if (!p) return;
    this.pending.delete(token);
    if (msg.data.length === 0) {
      // The server answers 503 with an empty body when nothing (no stream) listens on the subject.
      const code = msg.headers?.code ?? 0;
      if (code === 503)
        p.reject(
          new JetStreamPublishError(`publish to ${p.subject}: no stream captures the subject (no responders)`, p.subject, 'no_responders'),
        );
      else p.reject(new JetStreamPublishError(`publish to ${p.subject}: empty ack (status ${code})`, p.subject, 'invalid_ack'));
      return;
    }
    let v: {
      stream?: unknown;
      seq?: unknown;
      duplicate?: unknown;
      domain?: unknown;
      error?: { code?: number; err_code?: number; description?: string };
    };
    try {
      v = msg.json();
    } catch (e) {
      p.reject(new JetStreamPublishError(`publish to ${p.subject}: unreadable ack`, p.subject, 'invalid_ack', undefined, { cause: e }));
      return;
    }
    if (v.error) {
      const d = v.error;
      p.reject(
        new JetStreamPublishError(
          `publish to ${p.subject}: ${d.description ?? 'jetstream error'} (${d.code ?? '?'}/${d.err_code ?? '?'})`,
          p.subject,
          'api_error',
          d.err_code,
        ),
      );
      return;
    }
    if (typeof v.stream !== 'string' || v.stream === '' || typeof v.seq !== 'number') {
      p.reject(new JetStreamPublishError(`publish to ${p.subject}: invalid ack response`, p.subject, 'invalid_ack'));
      return;
    }
    p.resolve({
      stream: v.stream,
      seq: v.seq,
      duplicate: v.duplicate === true,
      ...(typeof v.domain === 'string' ? { domain: v.domain } : {}),
    });
  }

  private sweep(): void {
    const now = Date.now();
    for (const [token, p] of this.pending) {
      if (p.deadline <= now) {
        this.pending.delete(token);
        p.reject(new JetStreamPublishError(`publish to ${p.subject}: no ack within ${this.timeoutMs} ms`, p.subject, 'timeout'));
      }
    }
  }

  private rejectAll(reason: 'closed', message: string): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(new JetStreamPublishError(`publish to ${p.subject}: ${message}`, p.subject, reason));
  }
}
