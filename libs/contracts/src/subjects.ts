/**
 * Every NATS name Meterflow uses, built from one optional namespace so that several systems
 * (a developer's running stack, a test run) can share one NATS server without crossing.
 */
export type ServiceName = 'gateway' | 'meter-ingestion' | 'rating' | 'invoicing' | 'credit-ledger';

export const SERVICES: readonly ServiceName[] = ['gateway', 'meter-ingestion', 'rating', 'invoicing', 'credit-ledger'];

/** The services that take part in test-clock advances, in the order work flows between them. */
export const CLOCK_PARTICIPANTS: readonly ServiceName[] = ['meter-ingestion', 'rating', 'invoicing', 'credit-ledger'];

const token = (s: ServiceName): string => s.replace(/-/g, '_');

/** The last subject token of a batched request (`rpcBatchSubject`); no op name ends with it. */
export const RPC_BATCH_TOKEN = 'batch';
/**
 * A batch line that carries the request's NATS headers (trace context, correlation) starts with
 * this mark, then the headers as a JSON object, a tab, and the request: `~{"traceparent":"…"}\t{…}`.
 * JSON texts as `JSON.stringify` writes them hold no raw tab or line break, and none starts with `~`.
 */
export const RPC_BATCH_HEADERS_MARK = '~';

export function natsNames(namespace = '') {
  const p = namespace ? `${namespace}.` : '';
  const s = namespace ? `${namespace.toUpperCase()}_` : '';
  return {
    namespace,
    /** Producers' contract: batches of meter events. */
    ingestStream: `${s}MF_INGEST`,
    ingestSubjects: `${p}mf.ingest.>`,
    ingestSubject: (partition?: string) => `${p}mf.ingest.meter_events${partition ? `.${partition}` : ''}`,
    /** Downstream contract: Stripe `event` objects. */
    eventsStream: `${s}MF_EVENTS`,
    eventsSubjects: `${p}mf.events.>`,
    eventSubject: (stripeType: string) => `${p}mf.events.${stripeType}`,
    /** Each service's own domain events, published by its outbox relay. */
    serviceStream: (svc: ServiceName) => `${s}MF_SVC_${token(svc).toUpperCase()}`,
    serviceSubjects: (svc: ServiceName) => `${p}mf.svc.${token(svc)}.>`,
    serviceEventSubject: (svc: ServiceName, eventType: string) => `${p}mf.svc.${token(svc)}.${eventType}`,
    /** Dead letters Postgres refused (or could not take): kept here, never dropped. */
    deadLetterStream: `${s}MF_DEAD_LETTERS`,
    deadLetterSubjects: `${p}mf.deadletter.>`,
    deadLetterSubject: (svc: ServiceName) => `${p}mf.deadletter.${token(svc)}`,
    /** Signs of life of long requests (`HEADERS.heartbeat`): `mf.heartbeat.<unique id>`, no body. */
    heartbeatSubjects: `${p}mf.heartbeat.>`,
    heartbeatSubject: (id: string) => `${p}mf.heartbeat.${id}`,
    /** Request/reply: `mf.rpc.<service>.<op>`. */
    rpcSubject: (svc: ServiceName, op: string) => `${p}mf.rpc.${token(svc)}.${op}`,
    /**
     * Several requests of one op in one message: `mf.rpc.<service>.<op>.batch`, the requests' JSON
     * texts one per line (each after its headers, `RPC_BATCH_HEADERS_MARK`), answered by their
     * replies one per line in the same order (each handled as if it had come alone; the transport
     * serves it for every op).
     */
    rpcBatchSubject: (svc: ServiceName, op: string) => `${p}mf.rpc.${token(svc)}.${op}.${RPC_BATCH_TOKEN}`,
    /** Durable consumer names are per service and purpose. */
    durable: (svc: ServiceName, purpose: string) => `${s}${token(svc)}_${purpose}`.replace(/[^A-Za-z0-9_-]/g, '_'),
  };
}

export type NatsNames = ReturnType<typeof natsNames>;
