import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CliConfig } from './config.js';

export interface StripeEventLine {
  id: string;
  type: string;
  created: number;
  object: string;
  objectId: string;
  /** A few fields an operator reads first (amount, status, customer), `k=v`. */
  summary: string;
}

const PICK = ['status', 'customer', 'amount_due', 'amount', 'total', 'currency', 'event_name'] as const;

/** One line of `events tail` from a Stripe `event` object (pure). */
export function describeEvent(e: {
  id?: string;
  type?: string;
  created?: number;
  data?: { object?: Record<string, unknown> };
}): StripeEventLine {
  const o = e.data?.object ?? {};
  const summary = PICK.filter((k) => o[k] !== undefined && o[k] !== null && typeof o[k] !== 'object')
    .map((k) => `${k}=${String(o[k])}`)
    .join(' ');
  return {
    id: e.id ?? '?',
    type: e.type ?? '?',
    created: e.created ?? 0,
    object: typeof o.object === 'string' ? o.object : '?',
    objectId: typeof o.id === 'string' ? o.id : '',
    summary,
  };
}

/** `invoice.paid` -> `mf.events.invoice.paid`; none -> every event (`mf.events.>`); `invoice.*` passes through as a wildcard. */
export function tailSubject(cfg: CliConfig, type?: string): string {
  return type ? cfg.names.eventSubject(type) : cfg.names.eventsSubjects;
}

export interface TailOptions {
  type?: string;
  /** Start with the last N events already in the stream (default: only new ones). */
  last?: number;
  signal?: AbortSignal;
  onEvent: (raw: unknown, seq: number) => void;
}

/**
 * Follow MF_EVENTS with an ordered consumer (ephemeral, nothing left on the server): new events
 * as they are published, optionally after the last N. Ends when `signal` aborts.
 */
export async function tailEvents(cfg: CliConfig, nc: NatsConnection, opts: TailOptions): Promise<void> {
  const js = jetstream(nc);
  const stream = cfg.names.eventsStream;
  const filter = tailSubject(cfg, opts.type);
  let start: { deliver_policy: DeliverPolicy; opt_start_seq?: number } = { deliver_policy: DeliverPolicy.New };
  if (opts.last && opts.last > 0) {
    const si = await (await js.jetstreamManager()).streams.info(stream);
    const from = Math.max(si.state.first_seq, si.state.last_seq - opts.last + 1);
    // With a filter the last N sequences may hold fewer matching events; good enough for a tail.
    start = si.state.messages > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from } : start;
  }
  const consumer = await js.consumers.get(stream, { filter_subjects: filter, ...start });
  const messages = await consumer.consume();
  const stop = () => void messages.close();
  opts.signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const m of messages) {
      let body: unknown;
      try {
        body = m.json();
      } catch {
        body = { id: '?', type: m.subject, data: { object: { raw: m.string() } } };
      }
      opts.onEvent(body, m.seq);
    }
  } finally {
    opts.signal?.removeEventListener('abort', stop);
  }
}
