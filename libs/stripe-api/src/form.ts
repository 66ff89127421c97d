import qs from 'qs';
import { DomainError } from '@meterflow/kernel';
import type { Params } from './params.js';

/**
 * Stripe's v1 form encoding, decoded with `qs`: `a[b][c]=v`, indexed (`a[0]=x`, what stripe-node
 * sends) and unindexed (`a[]=x`) arrays, escaped (`%5B`) or raw brackets, `key=` kept as `''`
 * (= unset). Query strings of GET/DELETE use the same decoder.
 */
const QS_OPTIONS: qs.IParseOptions = {
  // `events[99]` of a 100-event batch must stay an array (qs turns larger indices into objects).
  arrayLimit: 1000,
  parameterLimit: 10_000,
  depth: 10,
  allowDots: false,
  allowPrototypes: false,
  parseArrays: true,
  duplicates: 'combine',
  strictNullHandling: false,
  charset: 'utf-8',
};

export function decodeForm(body: string): Params {
  if (body === '') return {};
  return qs.parse(body, QS_OPTIONS) as Params;
}

/** The query part of a URL (with or without the leading `?`, or the whole URL). */
export function decodeQuery(urlOrQuery: string): Params {
  const i = urlOrQuery.indexOf('?');
  const q = i >= 0 ? urlOrQuery.slice(i + 1) : urlOrQuery.startsWith('/') ? '' : urlOrQuery;
  return q === '' ? {} : (qs.parse(q, QS_OPTIONS) as Params);
}

/** The v2 JSON body (an object; empty body = `{}`). */
export function decodeJsonBody(body: string): Params {
  if (body.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    throw new DomainError('invalid_json', 'Invalid JSON in request body.', { status: 400 });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new DomainError('invalid_json', 'The request body must be a JSON object.', { status: 400 });
  }
  return v as Params;
}

/** The inverse, for tests and internal callers: Stripe-style indexed bracket form. */
export function encodeForm(params: Record<string, unknown>): string {
  return qs.stringify(params, { arrayFormat: 'indices', encodeValuesOnly: true });
}
