import { DomainError, kindOfId, type Clock } from '@meterflow/kernel';
import {
  IDEMPOTENT_REPLAY_OBJECT,
  IdempotentReplay,
  RETRIEVE_BY_KIND,
  type ApiRequest,
  type ApiRoute,
  type IdempotencyClaimRequest,
} from '@meterflow/contracts';
import {
  IDEMPOTENCY_KEY_MAX_LENGTH,
  authenticate,
  credentialFrom,
  decideIdempotency,
  decodeForm,
  decodeJsonBody,
  expandObject,
  expandPaths,
  idempotencyKeyInUse,
  idempotencyKeyTooLong,
  missingApiKey,
  newRequestId,
  refuseUnstorableText,
  renderError,
  requestHash,
  scopeOf,
  shouldStoreResponse,
  type Params,
} from '@meterflow/stripe-api';
import type { IdempotencyStore, ServiceCaller } from './ports.js';

/** How an op's `IdempotentReplay` starts (JSON.stringify keeps the key order it was built in). */
const REPLAY_PREFIX = `{"object":"${IDEMPOTENT_REPLAY_OBJECT}"`;

/** The answer to a request whose key holds a stored response: that response, marked replayed. */
function replayed(replay: { status: number; body: string }, headers: Record<string, string>): OutgoingResponse {
  return {
    status: replay.status,
    body: replay.body,
    headers: {
      ...headers,
      'idempotent-replayed': 'true',
      ...(replay.status >= 400 && replay.status < 500 ? { 'stripe-should-retry': 'false' } : {}),
    },
  };
}

/** One HTTP request, as the HTTP adapter hands it over. */
export interface IncomingCall {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Raw query string (without `?`), for GET/DELETE. */
  query: string;
  /** Raw body text, for POST. */
  body: string;
  pathParams: Record<string, string>;
  authorization: string | undefined;
  idempotencyKey: string | undefined;
  stripeVersion: string | undefined;
}

export interface OutgoingResponse {
  status: number;
  body: string;
  headers: Record<string, string>;
}

/**
 * The gateway's whole job for one API call: authenticate, decode, guard with the idempotency
 * key, call the owning service's op, expand, and render the result or a Stripe error.
 */
export class ApiCallHandler {
  private readonly scopes = new Map<string, string>();
  /** Responses being stored, by `scope\0key`: a retry in this process waits for its record. */
  private readonly storing = new Map<string, Promise<void>>();
  private readonly abandonedAfterMs: number;

  constructor(
    private readonly deps: {
      apiKeys: ReadonlySet<string>;
      idempotency: IdempotencyStore;
      caller: ServiceCaller;
      clock: Clock;
      /** How long a service call can take at most (the RPC timeout). */
      rpcTimeoutMs?: number;
      onStoreError?: (e: unknown) => void;
    },
  ) {
    // Past twice the RPC timeout, a claim without a response belongs to a request that died.
    this.abandonedAfterMs = Math.max(60_000, 2 * (deps.rpcTimeoutMs ?? 30_000));
  }

  async handle(route: ApiRoute, call: IncomingCall): Promise<OutgoingResponse> {
    const requestId = newRequestId();
    const mode = route.api ?? 'v1';
    let claimed: { scope: string; key: string } | undefined;
    let status = 200;
    let body: string;
    let code: string | undefined;
    const headers: Record<string, string> = { 'request-id': requestId };
    try {
      const credential = this.authenticate(route, call.authorization);
      const isPost = call.method === 'POST';
      const raw = isPost ? call.body : call.query;
      const params: Params = mode === 'v2' && isPost ? decodeJsonBody(raw) : decodeForm(raw);
      // NUL and friends would fail deep inside a service's INSERT (a 500): a 400 here instead.
      refuseUnstorableText(params, call.pathParams);
      const expand = expandPaths(params.expand);
      delete params.expand;

      const idemKey = call.idempotencyKey;
      let inService: IdempotencyClaimRequest | undefined;
      if (idemKey !== undefined && idemKey !== '' && call.method !== 'GET') {
        headers['idempotency-key'] = idemKey;
        if (idemKey.length > IDEMPOTENCY_KEY_MAX_LENGTH) throw idempotencyKeyTooLong();
        const scope = this.scopeOf(credential);
        if (route.idempotency === 'service' && expand.length === 0) {
          // The op claims the key in its own write (one commit) and answers a repeat itself.
          inService = { scope, key: idemKey, method: call.method, path: call.path, paramsHash: requestHash(call.method, call.path, raw) };
        } else {
          const replay = await this.claim(scope, idemKey, call.method, call.path, raw);
          if (replay) return replayed(replay, headers);
          claimed = { scope, key: idemKey };
        }
      }

      const apiRequest: ApiRequest = {
        params,
        path: call.pathParams,
        requestId,
        livemode: false,
        ...(call.stripeVersion ? { apiVersion: call.stripeVersion } : {}),
        ...(route.auth === 'meter_event_session' ? { sessionToken: credential } : {}),
        ...(idemKey ? { idempotencyKey: idemKey } : {}),
        ...(inService ? { idempotency: inService } : {}),
      };
      const result = await this.deps.caller.callRaw(route.service, route.op, JSON.stringify(apiRequest));
      if (inService && result.startsWith(REPLAY_PREFIX)) return replayed(IdempotentReplay.parse(JSON.parse(result)), headers);
      body = expand.length === 0 ? result : JSON.stringify(await this.expand(JSON.parse(result), expand, requestId));
    } catch (e) {
      const rendered = renderError(e, mode);
      status = rendered.status;
      code = e instanceof DomainError ? e.code : undefined;
      body = JSON.stringify(rendered.body);
    }
    if (status >= 400 && status < 500) headers['stripe-should-retry'] = 'false';
    // A service or dependency that is down (503) or slow (504): the same request may succeed.
    if (status === 503 || status === 504) headers['stripe-should-retry'] = 'true';
    if (claimed) this.store(claimed.scope, claimed.key, status, body, code);
    return { status, body, headers };
  }

  /** Resolves once every response already answered is stored (for shutdown). */
  async drain(): Promise<void> {
    await Promise.all([...this.storing.values()]);
  }

  /**
   * Stores (or releases) the claim without holding the response: the client is answered one
   * database round trip sooner. A retry with the same key in this process first waits for the
   * record (see `claim`); one reaching another gateway within those milliseconds gets a 409.
   */
  private store(scope: string, key: string, status: number, body: string, code: string | undefined): void {
    const id = `${scope}\0${key}`;
    const write = shouldStoreResponse(status, code)
      ? this.deps.idempotency.complete(scope, key, status, body)
      : this.deps.idempotency.release(scope, key);
    const done = write
      // A failed write leaves the claim "in flight" until it is abandoned; the call itself ran.
      .catch((e: unknown) => this.deps.onStoreError?.(e))
      .finally(() => {
        if (this.storing.get(id) === done) this.storing.delete(id);
      });
    this.storing.set(id, done);
  }

  private authenticate(route: ApiRoute, authorization: string | undefined): string {
    if (route.auth === 'meter_event_session') {
      // The ingestion service validates the session token (and answers 401 when it expired).
      const token = credentialFrom(authorization);
      if (token === undefined) throw missingApiKey();
      return token;
    }
    return authenticate(authorization, this.deps.apiKeys);
  }

  private scopeOf(credential: string): string {
    let s = this.scopes.get(credential);
    if (s === undefined) {
      s = scopeOf(credential);
      if (this.scopes.size > 10_000) this.scopes.clear(); // session tokens come and go
      this.scopes.set(credential, s);
    }
    return s;
  }

  /** Claims the key; returns the stored response to replay, or throws the idempotency error. */
  private async claim(
    scope: string,
    key: string,
    method: string,
    path: string,
    raw: string,
  ): Promise<{ status: number; body: string } | undefined> {
    const paramsHash = requestHash(method, path, raw);
    await this.storing.get(`${scope}\0${key}`);
    for (let attempt = 0; attempt < 2; attempt++) {
      const outcome = await this.deps.idempotency.claim({ scope, key, method, path, paramsHash });
      if (outcome.claimed) return undefined;
      // Claimed by a request whose row this statement could not see yet: it is in flight.
      if (!outcome.stored) throw idempotencyKeyInUse();
      const now = this.deps.clock.now();
      const d = decideIdempotency({ key, method, path, paramsHash }, outcome.stored, now, this.abandonedAfterMs);
      if (d.kind === 'replay') return { status: d.status, body: d.body };
      if (d.kind === 'error') throw d.error;
      if (d.kind === 'expired') {
        await this.deps.idempotency.forgetExpired(scope, key, outcome.stored.createdAt);
        continue;
      }
      return undefined;
    }
    throw idempotencyKeyInUse();
  }

  private async expand(result: unknown, paths: string[], requestId: string): Promise<unknown> {
    return expandObject(result, paths, async (id) => {
      const kind = kindOfId(id);
      const target = kind ? RETRIEVE_BY_KIND[kind] : undefined;
      if (!target) return undefined;
      const req: ApiRequest = { params: {}, path: { id }, requestId, livemode: false };
      return JSON.parse(await this.deps.caller.callRaw(target.service, target.op, JSON.stringify(req))) as Record<string, unknown>;
    });
  }
}
