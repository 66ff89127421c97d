import type { JsMsg } from '@nats-io/jetstream';

/** A JetStream message as handlers see it (no ack methods: the runner acks from the outcome). */
export interface InboundMessage {
  subject: string;
  data: Uint8Array;
  json<T>(): T;
  headers: Record<string, string>;
  /** `Nats-Msg-Id`, the publisher's dedupe id: use it as the inbox key. */
  messageId: string | undefined;
  /** 1 on first delivery. */
  deliveryCount: number;
  streamSequence: number;
}

export type HandlerOutcome =
  | { kind: 'ack' }
  /** `outage`: failed because a dependency is down (does not count as an attempt). */
  | { kind: 'nak'; delayMs: number; reason?: string; outage?: boolean }
  | { kind: 'term'; reason: string };

export const ACK: HandlerOutcome = { kind: 'ack' };

export function toInboundMessage(m: JsMsg): InboundMessage {
  const headers: Record<string, string> = {};
  if (m.headers) for (const k of m.headers.keys()) headers[k] = m.headers.get(k);
  return {
    subject: m.subject,
    data: m.data,
    json: <T>() => m.json<T>(),
    headers,
    messageId: headers['Nats-Msg-Id'] || undefined,
    deliveryCount: m.info.deliveryCount,
    streamSequence: m.seq,
  };
}
