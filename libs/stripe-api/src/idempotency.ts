import { createHash } from 'node:crypto';
import { DomainError } from '@meterflow/kernel';

/**
 * Idempotency-Key rules (Stripe v1): the first request's status and body are stored once the
 * endpoint started executing (500s included) and replayed for the same key within 24 h; the
 * same key with other parameters is an `idempotency_error`; a key whose first request is still
 * running is a 409. Requests that failed validation (400) are not stored, so they can be retried.
 */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

/** What the store knows about a key when a request with it arrives. */
export interface StoredIdempotency {
  method: string;
  path: string;
  paramsHash: string;
  /** null while the first request is still running. */
  status: number | null;
  body: string | null;
  createdAt: Date;
}

/** A record's columns as the stores' SQL returns them (null where a joined record is missing). */
export interface IdempotencyRecordRow {
  method: string | null;
  path: string | null;
  params_hash: string | null;
  status: number | null;
  response: string | null;
  created_at: Date | null;
}

/** A record row that is there (its method and creation time are set) as `StoredIdempotency`. */
export const storedIdempotencyOf = (r: IdempotencyRecordRow): StoredIdempotency => ({
  method: r.method ?? '',
  path: r.path ?? '',
  paramsHash: r.params_hash ?? '',
  status: r.status,
  body: r.response,
  createdAt: r.created_at ?? new Date(0),
});

export interface IncomingIdempotent {
  key: string;
  method: string;
  path: string;
  paramsHash: string;
}

export type IdempotencyDecision =
  { kind: 'proceed' } | { kind: 'replay'; status: number; body: string } | { kind: 'error'; error: DomainError };

/**
 * Decide what to do with a request whose key already exists (`stored`), or that was just
 * claimed (`stored` undefined => proceed).
 */
export function decideIdempotency(
  incoming: IncomingIdempotent,
  stored: StoredIdempotency | undefined,
  now: Date,
  /** A first request still "running" after this long died with its process: run again. */
  abandonedAfterMs = 5 * 60 * 1000,
): IdempotencyDecision | { kind: 'expired' } {
  if (!stored) return { kind: 'proceed' };
  const age = now.getTime() - stored.createdAt.getTime();
  if (age >= IDEMPOTENCY_TTL_MS) return { kind: 'expired' };
  if (stored.method !== incoming.method || stored.path !== incoming.path || stored.paramsHash !== incoming.paramsHash) {
    return { kind: 'error', error: idempotencyMismatch(incoming.key) };
  }
  if (stored.status === null || stored.body === null) {
    return age >= abandonedAfterMs ? { kind: 'expired' } : { kind: 'error', error: idempotencyKeyInUse() };
  }
  return { kind: 'replay', status: stored.status, body: stored.body };
}

/** Whether a finished response is kept for replay: everything that ran, not 400s or 409s. */
export function shouldStoreResponse(status: number, code?: string): boolean {
  if (status === 400 || status === 401 || status === 409 || status === 429) return false;
  // The request never reached a service: nothing ran, a retry must run it.
  if (code === 'service_unavailable') return false;
  return true;
}

export const idempotencyMismatch = (key: string): DomainError =>
  new DomainError(
    'idempotency_error',
    `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
    { status: 400, type: 'idempotency_error' },
  );

export const idempotencyKeyInUse = (): DomainError =>
  new DomainError(
    'idempotency_key_in_use',
    'There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): please retry your request later.',
    { status: 409, type: 'invalid_request_error' },
  );

export const idempotencyKeyTooLong = (): DomainError =>
  new DomainError('idempotency_key_invalid', `Idempotency-Key must be at most ${IDEMPOTENCY_KEY_MAX_LENGTH} characters long.`, {
    status: 400,
  });

/** Hash of what makes two requests "the same": method, path and the raw body/query. */
export function requestHash(method: string, path: string, rawParams: string): string {
  return createHash('sha256').update(method).update('\0').update(path).update('\0').update(rawParams).digest('base64url');
}

/** A short, non-reversible scope for keys (never store the API key itself). */
export function scopeOf(credential: string): string {
  return createHash('sha256').update(credential).digest('base64url').slice(0, 22);
}
