import { context, propagation, type Context } from '@opentelemetry/api';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { HEADERS } from '@meterflow/contracts';
import { currentMessageContext } from '@meterflow/kernel';

/**
 * W3C trace context (`traceparent`) and the correlation and causation ids of the message being
 * handled (see `MessageContext`) travel in NATS headers.
 */
export function headersWithTrace(extra: Record<string, string> = {}): MsgHdrs {
  const h = natsHeaders();
  const ctx = currentMessageContext();
  if (ctx?.correlationId) h.set(HEADERS.correlationId, ctx.correlationId);
  if (ctx?.causationId) h.set(HEADERS.causationId, ctx.causationId);
  for (const [k, v] of Object.entries(extra)) h.set(k, v);
  propagation.inject(context.active(), h, { set: (c, k, v) => c.set(k, String(v)) });
  return h;
}

export function contextFromHeaders(h: MsgHdrs | undefined): Context {
  if (!h) return context.active();
  return propagation.extract(context.active(), h, {
    get: (c, k) => (c.has(k) ? c.get(k) : undefined),
    keys: (c) => c.keys(),
  });
}
