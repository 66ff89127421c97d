import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsNames } from '@meterflow/contracts';
import { startBatchConsumer, type HandlerOutcome, type InboundMessage, type RunningConsumer } from '@meterflow/messaging';
import type { EventsService } from '../../application/events.service.js';
import type { IncomingEvent } from '../../application/ports.js';

const decoder = new TextDecoder();

/** A Stripe event as published on `mf.events.<type>`, or why it is not one. */
function parse(msg: InboundMessage): IncomingEvent | string {
  const body = decoder.decode(msg.data);
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
    const traceparent = msg.headers.traceparent;
    return { id: e.id, type: e.type, created: e.created, body, ...(traceparent ? { traceparent } : {}) };
  } catch {
    return 'not JSON';
  }
}

/**
 * The gateway's durable consumer of MF_EVENTS: every Stripe event is kept for the events API and
 * queued for the webhook endpoints subscribed to it, in batches (one statement per batch; a
 * redelivered event is recorded once, by its id). It never waits for a webhook to be delivered.
 */
export function startEventsConsumer(opts: {
  nc: NatsConnection;
  names: NatsNames;
  events: EventsService;
  onError: (e: unknown) => void;
}): Promise<RunningConsumer> {
  return startBatchConsumer({
    nc: opts.nc,
    stream: opts.names.eventsStream,
    durable: opts.names.durable('gateway', 'events'),
    service: 'gateway',
    maxBatch: 500,
    maxWaitMs: 20,
    onError: opts.onError,
    handleBatch: async (msgs) => {
      const parsed = msgs.map(parse);
      await opts.events.record(parsed.filter((p): p is IncomingEvent => typeof p !== 'string'));
      return parsed.map((p): HandlerOutcome => (typeof p === 'string' ? { kind: 'term', reason: p } : { kind: 'ack' }));
    },
  });
}
