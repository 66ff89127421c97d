import { Catch, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { BaseRpcContext, Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import type { MsgHdrs, NatsConnection, Subscription, Msg } from '@nats-io/transport-node';
import { lastValueFrom, throwError, type Observable } from 'rxjs';
import { HEADERS, RPC_BATCH_TOKEN, type NatsNames, type RpcReply, type ServiceName } from '@meterflow/contracts';
import {
  DomainError,
  dependencyUnavailable,
  isDependencyUnavailable,
  withMessageContext,
  type ErrorShape,
  type MessageContext,
} from '@meterflow/kernel';
import { decodeBatchLine, joinBatch, splitBatch } from './batch.js';
import { encodeJson } from './json.js';
import { rpcDuration, SpanKind, withSpan } from '@meterflow/observability';
import { contextFromHeaders } from './trace.js';

/** What `@Ctx()` receives in a request/reply handler. */
export class RpcContext extends BaseRpcContext<[string, MsgHdrs | undefined]> {
  get subject(): string {
    return this.args[0];
  }
  get headers(): MsgHdrs | undefined {
    return this.args[1];
  }
}

/**
 * Lets errors thrown in request/reply handlers reach the transport untouched, so a DomainError
 * keeps its Stripe fields; HTTP errors get Nest's usual handling. Register it app-wide
 * (`app.useGlobalFilters(new PassThroughRpcErrors(app.getHttpAdapter()))`) and connect the
 * microservice with `inheritAppConfig: true`.
 */
@Catch()
export class PassThroughRpcErrors extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): Observable<never> | void {
    if (host.getType() === 'rpc') return throwError(() => exception);
    return super.catch(exception, host);
  }
}

export interface MeterflowTransportOptions {
  nc: NatsConnection;
  names: NatsNames;
  service: ServiceName;
  onUnexpectedError?: (op: string, e: unknown) => void;
}

/**
 * A Nest transport for `@MessagePattern('<op>')` handlers over core NATS request/reply on
 * `mf.rpc.<service>.<op>` (queue group = the service, so replicas share the load). Durable
 * JetStream consumption is not done here: see `startDurableConsumer`.
 */
export class MeterflowTransport extends Server implements CustomTransportStrategy {
  private readonly subs: Subscription[] = [];
  /** Histogram children by op and outcome (labelled once: this runs on every request). */
  private readonly durations = new Map<string, { observe(v: number): void }>();

  constructor(private readonly opts: MeterflowTransportOptions) {
    super();
  }

  listen(callback: (...optionalParams: unknown[]) => unknown): void {
    for (const [pattern, handler] of this.messageHandlers) {
      if (handler.isEventHandler) continue;
      if (pattern === RPC_BATCH_TOKEN || pattern.endsWith(`.${RPC_BATCH_TOKEN}`))
        throw new Error(`op ${pattern}: an op name may not end with ".${RPC_BATCH_TOKEN}" (the batched form of every op)`);
      const serve = (subject: string, onMsg: (msg: Msg) => Promise<void>) =>
        this.subs.push(
          this.opts.nc.subscribe(subject, {
            queue: this.opts.service,
            callback: (err, msg) => {
              if (!err) void onMsg(msg);
            },
          }),
        );
      serve(this.opts.names.rpcSubject(this.opts.service, pattern), (msg) => this.onRequest(pattern, handler, msg));
      serve(this.opts.names.rpcBatchSubject(this.opts.service, pattern), (msg) => this.onBatch(pattern, handler, msg));
    }
    callback();
  }

  private async onRequest(op: string, handler: MessageHandler, msg: Msg): Promise<void> {
    const beats = this.heartbeats(msg);
    let reply: RpcReply;
    try {
      reply = await this.handle(op, handler, msg.subject, msg.headers, () => (msg.data.length ? msg.json() : {}));
    } finally {
      clearInterval(beats);
    }
    this.respond(op, msg, [reply]);
  }

  /**
   * A batch (`rpcBatchSubject`): each line one request, handled as if it had come alone (all at
   * once, each with its own outcome), answered in one message, one reply per line in order. The
   * gateway sends the API calls of one event-loop turn this way: one NATS message each way and
   * one dispatch for the lot instead of one per call.
   */
  private async onBatch(op: string, handler: MessageHandler, msg: Msg): Promise<void> {
    const replies = await Promise.all(
      splitBatch(msg.string()).map((line) => {
        const { headers, body } = decodeBatchLine(line, msg.headers);
        return this.handle(op, handler, msg.subject, headers, () => (body.length ? JSON.parse(body) : {}));
      }),
    );
    this.respond(op, msg, replies);
  }

  /**
   * The replies, one per line (one alone for a single request). One that does not fit a NATS
   * message (max_payload) answers each of its requests with that error at once, instead of
   * leaving the callers to their timeout; the gateway batches only ops with small replies
   * (API_ROUTES `batched`).
   */
  private respond(op: string, msg: Msg, replies: readonly RpcReply[]): void {
    if (!msg.reply) return;
    try {
      msg.respond(joinBatch(replies.map((r) => encodeJson(r))));
    } catch (e) {
      this.opts.onUnexpectedError?.(op, e);
      const failed = encodeJson({ ok: false, error: toErrorShape(e) });
      msg.respond(joinBatch(replies.map(() => failed)));
    }
  }

  /** One request: decoded, run in its message context and span, its outcome as a reply (never throws). */
  private async handle(
    op: string,
    handler: MessageHandler,
    subject: string,
    headers: MsgHdrs | undefined,
    decode: () => unknown,
  ): Promise<RpcReply> {
    const started = process.hrtime.bigint();
    let reply: RpcReply;
    try {
      const data: unknown = decode();
      const ctx = new RpcContext([subject, headers]);
      const result = await withMessageContext(requestContext(headers, data), () =>
        withSpan(`${this.opts.service} ${op}`, { kind: SpanKind.SERVER, parent: contextFromHeaders(headers) }, async () =>
          lastValueFrom(this.transformToObservable(await handler(data, ctx)), { defaultValue: null }),
        ),
      );
      reply = { ok: true, result };
    } catch (e) {
      reply = { ok: false, error: toErrorShape(e) };
      if (reply.error.status >= 500) this.opts.onUnexpectedError?.(op, e);
    }
    this.observe(op, reply, started);
    return reply;
  }

  /** A request asking for heartbeats (`mf-heartbeat: <ms>`) gets an empty message on its heartbeat subject that often until its reply. */
  private heartbeats(msg: Msg): NodeJS.Timeout | undefined {
    const every = Number(msg.headers?.get(HEADERS.heartbeat) ?? 0);
    const subject = msg.headers?.get(HEADERS.heartbeatSubject) ?? '';
    if (!(every >= 100) || !subject.startsWith(this.opts.names.heartbeatSubject(''))) return undefined;
    return setInterval(() => {
      try {
        this.opts.nc.publish(subject);
      } catch {
        /* disconnected: the caller will notice */
      }
    }, every);
  }

  /** `meterflow_rpc_duration_seconds{service,op,outcome}`: outcome `ok`, `refused` (4xx) or `failed` (5xx). */
  private observe(op: string, reply: RpcReply, started: bigint): void {
    const outcome = reply.ok ? 'ok' : reply.error.status >= 500 ? 'failed' : 'refused';
    const k = `${op}\0${outcome}`;
    let child = this.durations.get(k);
    if (!child) this.durations.set(k, (child = rpcDuration.labels(this.opts.service, op, outcome)));
    child.observe(Number(process.hrtime.bigint() - started) / 1e9);
  }

  async close(): Promise<void> {
    for (const s of this.subs) s.unsubscribe();
    this.subs.length = 0;
  }

  on(): void {
    /* no transport events */
  }

  unwrap<T>(): T {
    return this.opts.nc as T;
  }
}

/**
 * The chain a request belongs to: the sender's ids from headers; for an API call forwarded by the
 * gateway (no headers on its hot path), the request's `req_` id is both.
 */
function requestContext(h: MsgHdrs | undefined, data: unknown): MessageContext {
  const requestId =
    typeof (data as { requestId?: unknown })?.requestId === 'string' ? (data as { requestId: string }).requestId : undefined;
  return {
    correlationId: h?.get(HEADERS.correlationId) || requestId,
    causationId: h?.get(HEADERS.causationId) || requestId,
  };
}

export function toErrorShape(e: unknown): ErrorShape {
  if (e instanceof DomainError) return e.toShape();
  if (isDependencyUnavailable(e)) return dependencyUnavailable().toShape();
  const maybe = e as Partial<ErrorShape> & { name?: string };
  if (maybe && typeof maybe === 'object' && typeof maybe.message === 'string' && typeof maybe.status === 'number' && maybe.type) {
    return maybe as ErrorShape;
  }
  return { type: 'api_error', message: 'An unexpected error occurred.', status: 500 };
}
