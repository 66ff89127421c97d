import { nuid, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { HEADERS, type NatsNames, type RpcReply, type ServiceName } from '@meterflow/contracts';
import { DomainError } from '@meterflow/kernel';
import { natsConnected } from '../connection.js';
import { encodeJson } from './json.js';
import { SpanKind, withSpan } from '@meterflow/observability';
import { headersWithTrace } from './trace.js';

export interface RequestOptions {
  timeoutMs?: number;
  headers?: Record<string, string>;
  /**
   * Long work: the responder publishes a sign of life this often on a subject of the call's own
   * (the transport does it for every op), and the call fails as unavailable (503) when none came
   * for `max(3 x heartbeatMs, 10 s)`:
   * a responder that died mid-request is noticed in seconds, not at `timeoutMs`.
   */
  heartbeatMs?: number;
}

const HEARTBEAT_SILENCE_MIN_MS = 10_000;

/** Commands and queries to another service over NATS request/reply (`mf.rpc.<service>.<op>`). */
export class RpcClient {
  constructor(
    private readonly nc: NatsConnection,
    private readonly names: NatsNames,
    private readonly defaultTimeoutMs = 30_000,
    /**
     * The subjects this caller may request (a service: `rpcCallSubjects` of its own name, the
     * same table its NATS user's permissions are rendered from). A call outside it fails at once,
     * in every test, instead of timing out on a permissions violation in production.
     */
    private readonly permitted?: ReadonlySet<string>,
  ) {}

  async request<T>(service: ServiceName, op: string, payload: unknown, opts: RequestOptions = {}): Promise<T> {
    const subject = this.names.rpcSubject(service, op);
    if (this.permitted && !this.permitted.has(subject))
      throw new DomainError('rpc_not_permitted', `${subject} is not among this service's calls (RPC_CALLS in contracts).`, {
        status: 500,
        type: 'api_error',
      });
    // Disconnected: the request would sit in the client's buffer until the timeout.
    if (!natsConnected(this.nc)) throw unavailable(service, op, 'not connected to NATS');
    return withSpan(`rpc ${service}.${op}`, { kind: SpanKind.CLIENT, attributes: { 'messaging.destination.name': subject } }, async () => {
      let msg;
      try {
        const timeout = opts.timeoutMs ?? this.defaultTimeoutMs;
        msg = opts.heartbeatMs
          ? await this.requestWithHeartbeats(subject, payload, timeout, opts.heartbeatMs, opts.headers)
          : await this.nc.request(subject, encodeJson(payload ?? {}), { timeout, headers: headersWithTrace(opts.headers) });
      } catch (e) {
        throw unavailable(service, op, e);
      }
      const reply = msg.json<RpcReply<T>>();
      if (reply.ok) return reply.result;
      throw DomainError.fromShape(reply.error);
    });
  }

  private async requestWithHeartbeats(
    subject: string,
    payload: unknown,
    timeoutMs: number,
    heartbeatMs: number,
    extra: Record<string, string> | undefined,
  ): Promise<Msg> {
    const beat = this.names.heartbeatSubject(nuid.next());
    const sub = this.nc.subscribe(beat);
    let silence: NodeJS.Timeout | undefined;
    try {
      const silent = new Promise<never>((_, reject) => {
        const listen = () => {
          clearTimeout(silence);
          silence = setTimeout(
            () => reject(new Error('the responder stopped answering (no heartbeat)')),
            Math.max(3 * heartbeatMs, HEARTBEAT_SILENCE_MIN_MS),
          );
        };
        listen();
        void (async () => {
          for await (const _ of sub) listen();
        })();
      });
      const headers = headersWithTrace({ ...extra, [HEADERS.heartbeat]: String(heartbeatMs), [HEADERS.heartbeatSubject]: beat });
      return await Promise.race([this.nc.request(subject, encodeJson(payload ?? {}), { timeout: timeoutMs, headers }), silent]);
    } finally {
      clearTimeout(silence);
      sub.unsubscribe();
    }
  }
}

/** The error a caller gets when no replica of `service` answered `op` (none subscribed, or too slow). */
export function unavailable(service: string, op: string, e: unknown): DomainError {
  const text = `${String((e as Error)?.message ?? e)} ${String((e as { cause?: Error })?.cause?.message ?? '')}`;
  const timedOut = /timeout/i.test(text);
  return new DomainError(
    timedOut ? 'service_timeout' : 'service_unavailable',
    timedOut
      ? `The ${service} service did not answer ${op} in time. Please retry.`
      : `The ${service} service is not available (${op}). Please retry.`,
    { status: timedOut ? 504 : 503, type: 'api_error' },
  );
}
