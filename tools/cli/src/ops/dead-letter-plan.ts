/** Pure parts of `meterflow dead-letters`: where an entry came from, and how it is sent again. */

export interface DeadLetterEntry {
  /** `<schema>:<id>` (Postgres) or `<stream>:<seq>` (the JetStream fallback): what `replay` takes. */
  ref: string;
  source: 'postgres' | 'jetstream';
  consumer: string;
  /** The subject the message was consumed from, where a replay publishes it. */
  subject: string;
  messageId: string | null;
  reason: string;
  recordedAt: Date;
  data: string;
  headers: Record<string, string>;
}

export interface ReplayMessage {
  subject: string;
  data: string;
  headers: Record<string, string>;
  msgId: string;
}

/** Headers of a fallback entry that describe the dead letter, not the message. */
export const DEAD_LETTER_HEADER = /^mf-dead-letter-/i;

/**
 * The message a replay publishes. Ingest consumers dedupe meter events by their identifier, so an
 * ingest letter (one event of a batch, or a batch) goes out under a fresh id. Every other
 * consumer dedupes by `Nats-Msg-Id` in its inbox: the original id is kept, so consumers that
 * did handle the message skip it and only the one that gave up handles it again.
 */
export function replayMessage(e: DeadLetterEntry, ingestPrefix: string): ReplayMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.headers)) if (!/^Nats-/i.test(k) && !DEAD_LETTER_HEADER.test(k)) headers[k] = v;
  headers['mf-replayed-from'] = e.ref;
  const fresh = e.subject.startsWith(ingestPrefix) || !e.messageId;
  return { subject: e.subject, data: e.data, headers, msgId: fresh ? `replay:${e.ref}` : e.messageId! };
}

/** `ingestion:12` -> postgres row 12 of schema ingestion; `MF_DEAD_LETTERS:5` -> stream sequence 5. */
export function parseRef(ref: string, deadLetterStream: string): { schema: string; id: string } | { stream: string; seq: number } {
  const i = ref.lastIndexOf(':');
  if (i <= 0 || !/^\d+$/.test(ref.slice(i + 1)))
    throw new Error(`not a dead-letter reference: ${ref} (expected <schema>:<id> or ${deadLetterStream}:<seq>)`);
  const where = ref.slice(0, i);
  return where === deadLetterStream ? { stream: where, seq: Number(ref.slice(i + 1)) } : { schema: where, id: ref.slice(i + 1) };
}

/**
 * The original message id of a fallback entry: the `mf-dead-letter-message-id` header (its
 * `Nats-Msg-Id` is the dead letter's own, `dl:<consumer>:<stream>:<sequence>...`); entries
 * published before that header existed carry it as `dl:<consumer>:<id>`.
 */
export function fallbackMessageId(headers: Record<string, string>, consumer: string): string | null {
  const original = headers['mf-dead-letter-message-id'];
  if (original) return original;
  if (headers['mf-dead-letter-stream']) return null;
  const natsMsgId = headers['Nats-Msg-Id'];
  if (!natsMsgId) return null;
  const prefix = `dl:${consumer}:`;
  return natsMsgId.startsWith(prefix) ? natsMsgId.slice(prefix.length) : natsMsgId;
}
