// JetStream durable consumers, one message at a time (startDurableConsumer) or in batches
// (startBatchConsumer). Over ~300 lines by choice: both share the consumer setup, the outcome
// applier (ack / nak with backoff / term + dead letter) and the pull loop defined here.
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  JetStreamApiError,
  type ConsumerConfig,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { HEADERS } from '@meterflow/contracts';
import { causedBy, DomainError, isDependencyUnavailable, withMessageContext } from '@meterflow/kernel';
import { linkTo, SpanKind, withSpan } from '@meterflow/observability';
import { contextFromHeaders } from '../rpc/trace.js';
import { DEFAULT_LAG_SAMPLE_MS, sampleConsumerLag } from './consumer-lag.js';
import type { DeadLetterStore } from './dead-letter.store.js';
import { toInboundMessage, type HandlerOutcome, type InboundMessage } from './inbound-message.js';

export interface ConsumerOptionsBase {
  nc: NatsConnection;
  stream: string;
  durable: string;
  filterSubject?: string;
  /**
   * Deliver the headers only (`headers_only`; the server adds `Nats-Msg-Size`): for a consumer
   * that needs a message's id, subject and headers now and its body, if ever, later (by sequence).
   */
  headersOnly?: boolean;
  /** The service running the consumer: the `service` label of its lag gauge (default `unknown`). */
  service?: string;
  /** How often the consumer's lag (`num_pending`) is sampled into the gauge (default 10 s). */
  lagSampleMs?: number;
  /**
   * Failed attempts before a message is terminated and dead-lettered (default 10). Attempts
   * that failed because a dependency was down (`isDependencyUnavailable`) do not count: an
   * outage delays messages, it never dead-letters them. (The server-side `max_deliver` is
   * unlimited so that the server never drops a message silently.)
   */
  maxDeliver?: number;
  /**
   * Default 10 s: a crashed consumer's messages are redelivered that soon; a live one keeps
   * its messages with in-progress acks every half of it.
   */
  ackWaitMs?: number;
  deadLetters?: DeadLetterStore;
  onError?: (error: unknown, msg?: InboundMessage) => void;
  /** Nak delay for the n-th failed delivery (default 500 ms doubling, capped at 30 s). */
  backoffMs?: (deliveryCount: number) => number;
}

export interface DurableConsumerOptions extends ConsumerOptionsBase {
  /** Messages handled at once (default 16). */
  concurrency?: number;
  /** Messages pulled per request (default 2 x concurrency). */
  batch?: number;
  handle: (msg: InboundMessage) => Promise<HandlerOutcome>;
}

export interface BatchConsumerOptions extends ConsumerOptionsBase {
  /** Most messages per `handleBatch` call. */
  maxBatch: number;
  /** How long to wait for a batch to fill once its first message has arrived. */
  maxWaitMs: number;
  /** Resolve with nothing to ack all, or with one outcome per message, in order. */
  handleBatch: (msgs: InboundMessage[]) => Promise<HandlerOutcome[] | void>;
}

export interface RunningConsumer {
  stop(): Promise<void>;
  /** Update `meterflow_consumer_pending_messages` now (it is also sampled periodically). */
  sampleLag(): Promise<void>;
}

function lagSampler(opts: ConsumerOptionsBase) {
  return sampleConsumerLag(
    opts.nc,
    { service: opts.service ?? 'unknown', stream: opts.stream, consumer: opts.durable },
    opts.lagSampleMs ?? DEFAULT_LAG_SAMPLE_MS,
  );
}

/** Tell the server a slow handler is still working on `msgs`, so ack_wait does not redeliver them. */
function keepAlive(msgs: JsMsg[], ackWaitMs: number): () => void {
  const t = setInterval(() => msgs.forEach((m) => m.working()), Math.max(250, Math.floor(ackWaitMs / 2)));
  return () => clearInterval(t);
}

const defaultBackoff = (n: number): number => Math.min(500 * 2 ** Math.max(0, n - 1), 30_000);
/** Retry delay while a dependency is down: short, so work resumes within seconds of its return. */
const OUTAGE_RETRY_MS = 1_000;
export const DEFAULT_ACK_WAIT_MS = 10_000;
const CONSUMER_NOT_FOUND = 10014;
const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Create the durable pull consumer, or bring its tunables up to date (idempotent). */
export async function ensureConsumer(
  nc: NatsConnection,
  stream: string,
  cfg: { durable: string; filterSubject?: string; headersOnly?: boolean; maxDeliver?: number; ackWaitMs: number; maxAckPending: number },
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const want: Partial<ConsumerConfig> = {
    durable_name: cfg.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(cfg.ackWaitMs),
    max_deliver: cfg.maxDeliver ?? -1,
    max_ack_pending: cfg.maxAckPending,
    headers_only: cfg.headersOnly === true,
    ...(cfg.filterSubject ? { filter_subject: cfg.filterSubject } : {}),
  };
  try {
    const info = await jsm.consumers.info(stream, cfg.durable);
    const c = info.config;
    if (
      c.ack_wait !== want.ack_wait ||
      c.max_deliver !== want.max_deliver ||
      c.max_ack_pending !== want.max_ack_pending ||
      (c.headers_only === true) !== want.headers_only
    ) {
      // 2.9 can edit these in place (not the filter subject).
      await jsm.consumers.update(stream, cfg.durable, {
        ack_wait: want.ack_wait,
        max_deliver: want.max_deliver,
        max_ack_pending: want.max_ack_pending,
        headers_only: want.headers_only,
      });
    }
  } catch (e) {
    if ((e instanceof JetStreamApiError && e.code === CONSUMER_NOT_FOUND) || /consumer not found/i.test(errorMessage(e))) {
      await jsm.consumers.add(stream, want);
      return;
    }
    throw e;
  }
}

/**
 * Shared outcome handling: ack, nak with delay, or dead-letter then term. Counts each message's
 * real failures (by stream sequence) itself, so a dependency outage never uses up its attempts.
 */
class OutcomeApplier {
  private readonly maxDeliver: number;
  private readonly backoff: (n: number) => number;
  private readonly failures = new Map<number, number>();

  constructor(private readonly opts: ConsumerOptionsBase) {
    this.maxDeliver = opts.maxDeliver ?? 10;
    this.backoff = opts.backoffMs ?? defaultBackoff;
  }

  fromError(e: unknown, msg: InboundMessage): HandlerOutcome {
    if (e instanceof DomainError && e.status < 500) return { kind: 'term', reason: e.message };
    this.opts.onError?.(e, msg);
    if (isDependencyUnavailable(e)) return { kind: 'nak', delayMs: OUTAGE_RETRY_MS, outage: true };
    return { kind: 'nak', delayMs: this.backoff(this.failuresOf(msg) + 1), reason: errorMessage(e) };
  }

  async apply(m: JsMsg, msg: InboundMessage, outcome: HandlerOutcome): Promise<void> {
    switch (outcome.kind) {
      case 'ack':
        this.failures.delete(msg.streamSequence);
        m.ack();
        return;
      case 'nak': {
        if (outcome.outage) {
          m.nak(outcome.delayMs);
          return;
        }
        const n = this.failuresOf(msg) + 1;
        if (n >= this.maxDeliver) {
          return this.term(m, msg, `gave up after ${n} failed attempts${outcome.reason ? `: ${outcome.reason}` : ' (nak)'}`);
        }
        if (this.failures.size > 100_000) this.failures.clear(); // bounded; a restart forgets too
        this.failures.set(msg.streamSequence, n);
        m.nak(outcome.delayMs);
        return;
      }
      case 'term':
        return this.term(m, msg, outcome.reason);
    }
  }

  private failuresOf(msg: InboundMessage): number {
    return this.failures.get(msg.streamSequence) ?? 0;
  }

  private async term(m: JsMsg, msg: InboundMessage, reason: string): Promise<void> {
    if (this.opts.deadLetters) {
      try {
        await this.opts.deadLetters.record({
          consumer: this.opts.durable,
          subject: msg.subject,
          messageId: msg.messageId,
          data: msg.data,
          headers: msg.headers,
          reason,
          source: { stream: m.info.stream, sequence: m.seq, timestampNanos: m.info.timestampNanos },
        });
      } catch (e) {
        // Neither Postgres nor the JetStream fallback took it: keep the message, try later.
        this.opts.onError?.(e, msg);
        m.nak(OUTAGE_RETRY_MS);
        return;
      }
    }
    this.failures.delete(msg.streamSequence);
    // Plain +TERM: nats-server 2.9 ignores "+TERM <reason>" (the reason lives in dead_letters).
    m.term();
  }
}

/**
 * Pull from `consume()` until stopped, re-subscribing when the iterator ends unexpectedly
 * (consumer deleted and recreated, connection hiccup).
 */
function pump(
  nc: NatsConnection,
  stream: string,
  durable: string,
  maxMessages: number,
  onMessage: (m: JsMsg) => Promise<void>,
  onError: ((e: unknown) => void) | undefined,
): { stop(): Promise<void> } {
  let stopped = false;
  let current: ConsumerMessages | undefined;
  const loop = (async () => {
    const js = jetstream(nc);
    while (!stopped) {
      try {
        const consumer = await js.consumers.get(stream, durable);
        current = await consumer.consume({ max_messages: maxMessages });
        if (stopped) await current.close();
        for await (const m of current) {
          await onMessage(m);
          if (stopped) break;
        }
      } catch (e) {
        if (!stopped) onError?.(e);
      }
      if (!stopped) await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await current?.close().catch(() => undefined);
      await loop;
    },
  };
}

/** A durable pull consumer handling messages one by one, with bounded concurrency. */
export async function startDurableConsumer(opts: DurableConsumerOptions): Promise<RunningConsumer> {
  const concurrency = opts.concurrency ?? 16;
  const ackWaitMs = opts.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
  await ensureConsumer(opts.nc, opts.stream, {
    durable: opts.durable,
    filterSubject: opts.filterSubject,
    headersOnly: opts.headersOnly,
    ackWaitMs,
    maxAckPending: Math.max(concurrency * 4, opts.batch ?? 0, 64),
  });
  const applier = new OutcomeApplier(opts);
  const inFlight = new Set<Promise<void>>();

  const processOne = async (m: JsMsg): Promise<void> => {
    const msg = toInboundMessage(m);
    let outcome: HandlerOutcome;
    const done = keepAlive([m], ackWaitMs);
    try {
      // Whatever the handler writes or sends was caused by this message, in its chain (and its trace).
      outcome = await withSpan(
        `process ${msg.subject}`,
        { kind: SpanKind.CONSUMER, parent: contextFromHeaders(m.headers), attributes: { 'messaging.consumer.group.name': opts.durable } },
        () => withMessageContext(causedBy(msg.messageId, msg.headers[HEADERS.correlationId]), () => opts.handle(msg)),
      );
    } catch (e) {
      outcome = applier.fromError(e, msg);
    } finally {
      done();
    }
    await applier.apply(m, msg, outcome);
  };

  const running = pump(
    opts.nc,
    opts.stream,
    opts.durable,
    opts.batch ?? concurrency * 2,
    async (m) => {
      while (inFlight.size >= concurrency) await Promise.race(inFlight);
      const p = processOne(m)
        .catch((e: unknown) => opts.onError?.(e))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    },
    opts.onError,
  );

  const lag = lagSampler(opts);
  return {
    async stop() {
      lag.stop();
      await running.stop();
      await Promise.all(inFlight);
    },
    sampleLag: () => lag.sampleNow(),
  };
}

/**
 * One consumer span per batch: its parent is the first traced message's context (a batch of one
 * continues that message's trace), and it links every other traced message.
 */
export function withBatchSpan<T>(stream: string, durable: string, batch: JsMsg[], fn: () => Promise<T>): Promise<T> {
  const contexts = batch.filter((m) => m.headers?.has('traceparent')).map((m) => contextFromHeaders(m.headers));
  const links = contexts
    .slice(1)
    .map(linkTo)
    .filter((l) => l !== undefined);
  return withSpan(
    `process ${stream} batch`,
    {
      kind: SpanKind.CONSUMER,
      ...(contexts[0] ? { parent: contexts[0] } : {}),
      links,
      attributes: { 'messaging.batch.message_count': batch.length, 'messaging.consumer.group.name': durable },
    },
    fn,
  );
}

/**
 * High-volume variant: hands up to `maxBatch` messages to one `handleBatch` call (after at
 * most `maxWaitMs` from the first one), then acks them all (or applies per-message outcomes).
 */
export async function startBatchConsumer(opts: BatchConsumerOptions): Promise<RunningConsumer> {
  const ackWaitMs = opts.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
  await ensureConsumer(opts.nc, opts.stream, {
    durable: opts.durable,
    filterSubject: opts.filterSubject,
    headersOnly: opts.headersOnly,
    ackWaitMs,
    // enough outstanding for two batches in hand and one being pulled
    maxAckPending: Math.max(opts.maxBatch * 3, 1000),
  });
  const applier = new OutcomeApplier(opts);
  let buffer: JsMsg[] = [];
  let firstAt = 0;
  let wake: (() => void) | undefined;
  let space: (() => void) | undefined;
  let stopped = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        wake = undefined;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(t);
        wake = undefined;
        resolve();
      };
    });

  const processBatch = async (batch: JsMsg[]): Promise<void> => {
    const msgs = batch.map(toInboundMessage);
    let outcomes: HandlerOutcome[];
    const done = keepAlive(batch, ackWaitMs);
    try {
      const r = await withBatchSpan(opts.stream, opts.durable, batch, () => opts.handleBatch(msgs));
      outcomes = r ?? msgs.map(() => ({ kind: 'ack' }) as const);
      if (outcomes.length !== msgs.length) throw new Error(`handleBatch returned ${outcomes.length} outcomes for ${msgs.length} messages`);
    } catch (e) {
      outcomes = msgs.map((msg) => applier.fromError(e, msg));
    } finally {
      done();
    }
    await Promise.all(batch.map((m, i) => applier.apply(m, msgs[i]!, outcomes[i]!)));
  };

  const flusher = (async () => {
    while (!stopped || buffer.length > 0) {
      if (buffer.length === 0) {
        if (stopped) break;
        await sleep(250);
        continue;
      }
      while (buffer.length < opts.maxBatch && !stopped) {
        const left = firstAt + opts.maxWaitMs - Date.now();
        if (left <= 0) break;
        await sleep(left);
      }
      const batch = buffer.slice(0, opts.maxBatch);
      buffer = buffer.slice(batch.length);
      firstAt = Date.now();
      space?.();
      try {
        await processBatch(batch);
      } catch (e) {
        opts.onError?.(e);
      }
    }
  })();

  const running = pump(
    opts.nc,
    opts.stream,
    opts.durable,
    opts.maxBatch * 2,
    async (m) => {
      // Back-pressure: hold the iterator while two batches are already waiting.
      while (buffer.length >= opts.maxBatch * 2 && !stopped) {
        await new Promise<void>((r) => {
          space = r;
          setTimeout(r, 100);
        });
      }
      if (buffer.length === 0) firstAt = Date.now();
      buffer.push(m);
      if (buffer.length === 1 || buffer.length >= opts.maxBatch) wake?.();
    },
    opts.onError,
  );

  const lag = lagSampler(opts);
  return {
    async stop() {
      lag.stop();
      await running.stop();
      stopped = true;
      wake?.();
      await flusher;
    },
    sampleLag: () => lag.sampleNow(),
  };
}
