import type { NatsConnection } from '@nats-io/transport-node';
import { HEADERS, type NatsNames } from '@meterflow/contracts';
import { startBatchConsumer, type HandlerOutcome, type InboundMessage, type RunningConsumer } from '@meterflow/messaging';
import type { EventsService } from '../../application/events.service.js';
import type { EventBodies, IncomingEvent } from '../../application/ports.js';

/** A Stripe event object's id, type and time, or why the body is not one. */
export function stripeEventFacts(body: string): Pick<IncomingEvent, 'id' | 'type' | 'created'> | string {
  try {
    const e = JSON.parse(body) as { id?: unknown; type?: unknown; created?: unknown; object?: unknown };
    if (
      typeof e.id !== 'string' ||
      !e.id.startsWith('evt_') ||
      typeof e.type !== 'string' ||
      typeof e.created !== 'number' ||
      e.object !== 'event'
    )
      return 'not a Stripe event object';
    return { id: e.id, type: e.type, created: e.created };
  } catch {
    return 'not JSON';
  }
}

/** The event as recorded: its facts, where the stream holds it and the trace its headers carry. */
function incoming(msg: InboundMessage, facts: Pick<IncomingEvent, 'id' | 'type' | 'created'>): IncomingEvent {
  const traceparent = msg.headers.traceparent;
  return { ...facts, streamSeq: msg.streamSequence, ...(traceparent ? { traceparent } : {}) };
}

/**
 * A Stripe event as the relays publish it, from its headers alone: the id (`Nats-Msg-Id`), the
 * type (the subject `mf.events.<type>`) and the time (`mf-stripe-created`). Undefined when a
 * header is missing (a message from before the header existed): its body says.
 */
export function eventFromHeaders(msg: InboundMessage, subjectPrefix: string): IncomingEvent | undefined {
  const id = msg.messageId;
  const created = Number(msg.headers[HEADERS.stripeCreated]);
  if (!id?.startsWith('evt_') || !msg.subject.startsWith(subjectPrefix) || !Number.isSafeInteger(created)) return undefined;
  const type = msg.subject.slice(subjectPrefix.length);
  if (type === '') return undefined;
  return incoming(msg, { id, type, created });
}

/**
 * The gateway's durable consumer of MF_EVENTS: every Stripe event is indexed for the events API
 * and queued for the webhook endpoints subscribed to it, in batches (one statement per batch; a
 * redelivered event is recorded once, by its id). The consumer takes the messages' headers only:
 * the bodies stay in the stream, read by sequence when they are asked for (`EventBodies`). It
 * never waits for a webhook to be delivered.
 */
export function startEventsConsumer(opts: {
  nc: NatsConnection;
  names: NatsNames;
  events: EventsService;
  bodies: EventBodies;
  onError: (e: unknown) => void;
}): Promise<RunningConsumer> {
  const subjectPrefix = opts.names.eventSubject('');
  return startBatchConsumer({
    nc: opts.nc,
    stream: opts.names.eventsStream,
    durable: opts.names.durable('gateway', 'events'),
    headersOnly: true,
    service: 'gateway',
    maxBatch: 500,
    maxWaitMs: 20,
    onError: opts.onError,
    handleBatch: async (msgs) => {
      const parsed: (IncomingEvent | string | undefined)[] = msgs.map((m) => eventFromHeaders(m, subjectPrefix));
      // Without the headers: read the body (a rare message; the relays set them).
      const missing = msgs.filter((_, i) => parsed[i] === undefined);
      if (missing.length > 0) {
        const bodies = await opts.bodies.load(missing.map((m) => m.streamSequence));
        msgs.forEach((m, i) => {
          if (parsed[i] !== undefined) return;
          const body = bodies.get(m.streamSequence);
          const facts = body === undefined ? 'no longer in the stream' : stripeEventFacts(body);
          parsed[i] = typeof facts === 'string' ? facts : incoming(m, facts);
        });
      }
      await opts.events.record(parsed.filter((p): p is IncomingEvent => typeof p === 'object'));
      return parsed.map((p): HandlerOutcome => (typeof p === 'string' ? { kind: 'term', reason: p } : { kind: 'ack' }));
    },
  });
}
