import { DomainError, notFound } from '@meterflow/kernel';
import { describe, expect, it } from 'vitest';
import { authenticate, credentialFrom, maskKey, parseApiKeys } from './auth.js';
import { newRequestId, renderError, unrecognizedUrl } from './errors.js';
import { decodeForm, decodeJsonBody, decodeQuery, encodeForm } from './form.js';
import { decideIdempotency, requestHash, shouldStoreResponse, type StoredIdempotency } from './idempotency.js';

describe('form decoding', () => {
  it('bracket notation, indexed and unindexed arrays, escaped brackets, empty values', () => {
    expect(decodeForm('a%5Bb%5D=c&x[0]=1&x[1]=2&e[]=p&e[]=q&m=&items[0][price]=p1&items[1][price]=p2&d[a][b][c][d][e]=deep')).toEqual({
      a: { b: 'c' },
      x: ['1', '2'],
      e: ['p', 'q'],
      m: '',
      items: [{ price: 'p1' }, { price: 'p2' }],
      d: { a: { b: { c: { d: { e: 'deep' } } } } },
    });
  });

  it('keeps 100 indexed items as an array', () => {
    const body = Array.from({ length: 100 }, (_, i) => `events[${i}][identifier]=id${i}`).join('&');
    const p = decodeForm(body);
    expect(Array.isArray(p.events)).toBe(true);
    expect((p.events as { identifier: string }[])[99]).toEqual({ identifier: 'id99' });
  });

  it('round-trips what stripe-node style encoding produces', () => {
    const params = { payload: { stripe_customer_id: 'cus_1', value: '5' }, expand: ['a', 'b.c'], metadata: { k: 'a b&c=d' } };
    expect(decodeForm(encodeForm(params))).toEqual(params);
  });

  it('does not let keys reach the prototype', () => {
    const p = decodeForm('__proto__[polluted]=1&a[constructor][prototype][x]=1');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(p.__proto__).toEqual(Object.prototype);
  });

  it('queries and JSON bodies', () => {
    expect(decodeQuery('/v1/customers?limit=3&expand[]=data.test_clock')).toEqual({ limit: '3', expand: ['data.test_clock'] });
    expect(decodeQuery('/v1/customers')).toEqual({});
    expect(decodeJsonBody('')).toEqual({});
    expect(decodeJsonBody('{"a":{"b":1}}')).toEqual({ a: { b: 1 } });
    expect(() => decodeJsonBody('{')).toThrow(DomainError);
    expect(() => decodeJsonBody('[1]')).toThrow(DomainError);
  });
});

describe('errors', () => {
  it('renders a DomainError like Stripe', () => {
    expect(renderError(notFound('customer', 'cus_x'))).toEqual({
      status: 404,
      body: {
        error: {
          type: 'invalid_request_error',
          code: 'resource_missing',
          message: "No such customer: 'cus_x'",
          param: 'id',
          doc_url: 'https://stripe.com/docs/error-codes/resource-missing',
        },
      },
    });
  });

  it('anything else is a 500 api_error', () => {
    expect(renderError(new Error('boom'))).toEqual({
      status: 500,
      body: { error: { type: 'api_error', message: 'An unknown error occurred' } },
    });
  });

  it('unknown URLs carry no code', () => {
    expect(renderError(unrecognizedUrl('GET', '/v1/x?a=1'))).toEqual({
      status: 404,
      body: { error: { type: 'invalid_request_error', message: 'Unrecognized request URL (GET: /v1/x).' } },
    });
  });

  it('v2 session expiry gets the type stripe-node maps to TemporarySessionExpiredError', () => {
    const e = new DomainError('billing_meter_event_session_expired', 'Session expired.', { status: 401 });
    expect(renderError(e, 'v2').body.error.type).toBe('temporary_session_expired');
    expect(renderError(e, 'v1').body.error.type).toBe('invalid_request_error');
  });

  it('request ids', () => {
    expect(newRequestId()).toMatch(/^req_[0-9A-Za-z]{14}$/);
  });
});

describe('auth', () => {
  const keys = parseApiKeys(undefined);
  it('Bearer and Basic', () => {
    expect(authenticate('Bearer sk_test_meterflow', keys)).toBe('sk_test_meterflow');
    const basic = `Basic ${Buffer.from('sk_test_meterflow:').toString('base64')}`;
    expect(authenticate(basic, keys)).toBe('sk_test_meterflow');
    expect(credentialFrom('Token x')).toBeUndefined();
  });

  it('401s with the key masked', () => {
    const e = (() => {
      try {
        authenticate('Bearer sk_test_abcdefgh1234', keys);
      } catch (err) {
        return err as DomainError;
      }
      throw new Error('expected 401');
    })();
    expect(renderError(e)).toEqual({
      status: 401,
      body: { error: { type: 'invalid_request_error', message: 'Invalid API Key provided: sk_test_********1234' } },
    });
    expect(() => authenticate(undefined, keys)).toThrow(/did not provide an API key/);
  });

  it('configured keys', () => {
    expect([...parseApiKeys('sk_a, sk_b ,')]).toEqual(['sk_a', 'sk_b']);
    expect(maskKey('sk_live_x')).toBe('sk_live_*');
  });
});

describe('idempotency decisions', () => {
  const now = new Date('2026-01-02T00:00:00Z');
  const incoming = { key: 'k', method: 'POST', path: '/v1/customers', paramsHash: requestHash('POST', '/v1/customers', 'a=1') };
  const stored = (over: Partial<StoredIdempotency> = {}): StoredIdempotency => ({
    method: 'POST',
    path: '/v1/customers',
    paramsHash: incoming.paramsHash,
    status: 200,
    body: '{"id":"cus_1"}',
    createdAt: new Date(now.getTime() - 1000),
    ...over,
  });

  it('given a new key, when a request arrives, then it proceeds', () => {
    expect(decideIdempotency(incoming, undefined, now)).toEqual({ kind: 'proceed' });
  });
  it('given a finished request, when the same one arrives, then it replays', () => {
    expect(decideIdempotency(incoming, stored(), now)).toEqual({ kind: 'replay', status: 200, body: '{"id":"cus_1"}' });
  });
  it('given a finished request, when other params arrive, then idempotency_error', () => {
    const d = decideIdempotency({ ...incoming, paramsHash: 'other' }, stored(), now);
    expect(d.kind === 'error' && renderError(d.error)).toEqual({
      status: 400,
      body: {
        error: {
          type: 'idempotency_error',
          code: 'idempotency_error',
          message:
            "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'k' if you meant to execute a different request.",
        },
      },
    });
  });
  it('given a running request, when the same key arrives, then 409', () => {
    const d = decideIdempotency(incoming, stored({ status: null, body: null }), now);
    expect(d.kind === 'error' && d.error.status).toBe(409);
  });
  it('given a first request that never finished (its process died), then it runs again', () => {
    const stale = stored({ status: null, body: null, createdAt: new Date(now.getTime() - 10 * 60_000) });
    expect(decideIdempotency(incoming, stale, now, 5 * 60_000).kind).toBe('expired');
  });
  it('given a key older than 24 h, then it is treated as new', () => {
    expect(decideIdempotency(incoming, stored({ createdAt: new Date(now.getTime() - 86_400_000) }), now).kind).toBe('expired');
  });
  it('stores what ran, not validation failures', () => {
    expect(shouldStoreResponse(200)).toBe(true);
    expect(shouldStoreResponse(404)).toBe(true);
    expect(shouldStoreResponse(500)).toBe(true);
    expect(shouldStoreResponse(400)).toBe(false);
    expect(shouldStoreResponse(503, 'service_unavailable')).toBe(false);
  });
});
