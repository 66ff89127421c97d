import { randomFillSync } from 'node:crypto';
import { DomainError, dependencyUnavailable, isDependencyUnavailable, type ErrorShape } from '@meterflow/kernel';

/**
 * Stripe error bodies. v1: `{"error":{type,code?,message,param?,doc_url?}}`. v2 keeps the
 * same envelope but stripe-node picks the error class by `type` (e.g. `temporary_session_expired`
 * -> `TemporarySessionExpiredError`), so a few codes get their v2 type here.
 */
export type ApiMode = 'v1' | 'v2';

export interface RenderedError {
  status: number;
  body: { error: StripeErrorBody };
}

export interface StripeErrorBody {
  type: string;
  code?: string;
  message: string;
  param?: string;
  doc_url?: string;
}

const V2_TYPE_BY_CODE: Readonly<Record<string, string>> = {
  billing_meter_event_session_expired: 'temporary_session_expired',
};

/** Codes with a page in Stripe's error-code reference. */
const DOC_CODES = new Set([
  'parameter_missing',
  'parameter_unknown',
  'parameter_invalid_integer',
  'parameter_invalid_empty',
  'parameter_invalid_string_blank',
  'parameter_invalid_string_empty',
  'parameters_exclusive',
  'resource_missing',
  'idempotency_key_in_use',
  'rate_limit',
  'api_key_expired',
]);

/** Internal codes Stripe does not print (its 401s and unknown-URL 404s carry no `code`). */
const UNPRINTED_CODES = new Set(['api_key_missing', 'api_key_invalid', 'url_unrecognized', 'error']);

export function errorShapeOf(e: unknown): ErrorShape {
  if (e instanceof DomainError) return e.toShape();
  // Postgres gone (the gateway's idempotency store): retryable, not a bug.
  if (isDependencyUnavailable(e)) return dependencyUnavailable().toShape();
  return { type: 'api_error', message: 'An unknown error occurred', status: 500 };
}

export function renderError(e: unknown, mode: ApiMode = 'v1'): RenderedError {
  const s = errorShapeOf(e);
  const body: StripeErrorBody = { type: s.type, message: s.message };
  if (s.code !== undefined && !UNPRINTED_CODES.has(s.code)) body.code = s.code;
  if (s.param !== undefined) body.param = s.param;
  if (s.code !== undefined && DOC_CODES.has(s.code)) body.doc_url = `https://stripe.com/docs/error-codes/${s.code.replace(/_/g, '-')}`;
  if (mode === 'v2' && s.code !== undefined && V2_TYPE_BY_CODE[s.code]) body.type = V2_TYPE_BY_CODE[s.code]!;
  return { status: s.status, body: { error: body } };
}

export const unrecognizedUrl = (method: string, url: string): DomainError =>
  new DomainError('url_unrecognized', `Unrecognized request URL (${method}: ${url.split('?')[0]}).`, {
    status: 404,
  });

/** `req_` + 14 random base62 characters, like Stripe's request ids. */
export function newRequestId(): string {
  // Random bytes drawn from a pool: one crypto call per 512 ids (this runs on every request).
  if (poolOffset + 14 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  let out = 'req_';
  for (let i = 0; i < 14; i++) out += ALPHABET[pool[poolOffset++]! % 62];
  return out;
}

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const pool = Buffer.alloc(14 * 512);
let poolOffset = pool.length;
