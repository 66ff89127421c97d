import { DomainError } from './errors.js';

/** Postgres SQLSTATEs of a server that is going away or not accepting connections yet. */
const PG_UNAVAILABLE = /^(08\d{3}|57P0[1-3]|53300)$/;
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const TEXT_UNAVAILABLE =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (starting up|shutting down|in recovery)/i;

/**
 * True when `e` says a dependency (Postgres, the network to it) is not there right now, rather
 * than that the request was wrong: such failures are answered 503 (retry) and never
 * dead-letter a message.
 */
export function isDependencyUnavailable(e: unknown): boolean {
  for (let x: unknown = e, depth = 0; x && typeof x === 'object' && depth < 4; x = (x as { cause?: unknown }).cause, depth++) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === 'string' && (PG_UNAVAILABLE.test(code) || NET_UNAVAILABLE.has(code))) return true;
    const message = (x as { message?: unknown }).message;
    if (typeof message === 'string' && TEXT_UNAVAILABLE.test(message)) return true;
    const errors = (x as { errors?: unknown }).errors; // AggregateError from a dual-stack connect
    if (Array.isArray(errors) && errors.some((inner) => isDependencyUnavailable(inner))) return true;
  }
  return false;
}

/** The Stripe-shaped 503 for a call that failed because a dependency is down. */
export const dependencyUnavailable = (): DomainError =>
  new DomainError('service_unavailable', 'A dependency of the service is temporarily unavailable. Please retry.', {
    status: 503,
    type: 'api_error',
  });
