import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ClockAdvanceToRequest, ClockNextDueReply, ClockNextDueRequest } from './clock-protocol.js';
import {
  ApplyCreditsReply,
  ApplyCreditsRequest,
  CreateSubscriptionInvoiceRequest,
  RatePeriodReply,
  RatePeriodRequest,
  RatedLine,
  UsageQueryReply,
  UsageQueryRequest,
} from './internal-ops.js';
import { ApiRequest, RpcReply, rpcReply } from './rpc.js';

/** The paths of what `schema` rejects in `value` (empty when it accepts it). */
const rejected = (schema: z.ZodType, value: unknown): string[] => {
  const r = schema.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
};

const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z
const line = (over: Record<string, unknown> = {}) => ({
  subscription_item: 'si_01JX4Q8Z3N0AB',
  price: 'price_01JX4Q8Z3N0AC',
  product: 'prod_01JX4Q8Z3N0AD',
  meter: 'mtr_01JX4Q8Z3N0AE',
  quantity: 1200,
  amount: 3000,
  currency: 'usd',
  unit_amount_decimal: '2.5',
  description: '1200 × API calls',
  period: { start: T0, end: T0 + 31 * 86_400 },
  ...over,
});
const invoiceRequest = (over: Record<string, unknown> = {}) => ({
  idempotency_key: `sub_01JX4Q8Z3N0AF:${T0}:subscription_cycle`,
  customer: 'cus_01JX4Q8Z3N0AG',
  subscription: 'sub_01JX4Q8Z3N0AF',
  currency: 'usd',
  billing_reason: 'subscription_cycle',
  period_start: T0,
  period_end: T0 + 31 * 86_400,
  created: T0 + 31 * 86_400,
  test_clock: null,
  lines: [line(), line({ meter: null, unit_amount_decimal: null, quantity: 2, amount: -1250, description: 'Unused time' })],
  ...over,
});
const creditsRequest = (over: Record<string, unknown> = {}) => ({
  invoice: 'in_01JX4Q8Z3N0AH',
  customer: 'cus_01JX4Q8Z3N0AG',
  currency: 'eur',
  at: T0 + 3600,
  test_clock: 'clock_01JX4Q8Z3N0AI',
  lines: [
    { id: 'il_1', amount: 500, price: 'price_fixed', metered: false },
    { id: 'il_2', amount: 3000, price: null, metered: true },
  ],
  ...over,
});

describe('internal op contracts', () => {
  it('accept the messages services really send', () => {
    expect(
      rejected(UsageQueryRequest, { queries: [{ key: 'si_1:1767225600', meter: 'mtr_1', customer: 'cus_1', start: T0, end: T0 + 60 }] }),
    ).toEqual([]);
    expect(rejected(UsageQueryRequest, { queries: [] })).toEqual([]);
    expect(rejected(UsageQueryReply, { results: { a: { value: '25', formula: 'sum' }, b: { value: '0.125', formula: 'last' } } })).toEqual(
      [],
    );
    expect(rejected(RatedLine, line())).toEqual([]);
    expect(rejected(RatePeriodRequest, { subscription: 'sub_1', period_start: T0, period_end: T0 + 1 })).toEqual([]);
    expect(
      rejected(RatePeriodRequest, { subscription: 'sub_1', period_start: T0, period_end: T0 + 1, billing_reason: 'subscription_create' }),
    ).toEqual([]);
    expect(rejected(RatePeriodReply, { lines: [line()] })).toEqual([]);
    expect(rejected(CreateSubscriptionInvoiceRequest, invoiceRequest())).toEqual([]);
    expect(rejected(ApplyCreditsRequest, creditsRequest())).toEqual([]);
    expect(
      rejected(ApplyCreditsReply, {
        applications: [{ line: 'il_2', amount: 1000, credit_balance_transaction: 'cbtxn_1', credit_grant: 'credgr_1' }],
      }),
    ).toEqual([]);
  });

  it('reject malformed ones, naming the field', () => {
    expect(rejected(UsageQueryRequest, {})).toEqual(['queries']);
    expect(
      rejected(UsageQueryRequest, { queries: [{ key: 'a', meter: 'mtr_1', customer: 'cus_1', start: '1767225600', end: T0 }] }),
    ).toEqual(['queries.0.start']);
    expect(
      rejected(UsageQueryRequest, { queries: [{ key: 'a', meter: 'mtr_1', customer: 'cus_1', start: T0 * 1000 + 0.5, end: T0 }] }),
    ).toEqual(['queries.0.start']);
    expect(rejected(UsageQueryReply, { results: { a: { value: '1e-7', formula: 'sum' } } })).toEqual(['results.a.value']);
    expect(rejected(UsageQueryReply, { results: { a: { value: '1', formula: 'max' } } })).toEqual(['results.a.formula']);
    expect(rejected(RatePeriodRequest, { subscription: 'sub_1', period_start: T0, period_end: T0 + 1, billing_reason: 'cycle' })).toEqual([
      'billing_reason',
    ]);
    expect(rejected(RatePeriodRequest, { subscription: '', period_start: -1, period_end: T0 })).toEqual(['subscription', 'period_start']);
  });

  it('keep amounts integral minor units, decimals strings, currencies lowercase codes', () => {
    expect(rejected(RatedLine, line({ amount: 30.5 }))).toEqual(['amount']);
    expect(rejected(RatedLine, line({ amount: 2 ** 53 }))).toEqual(['amount']); // beyond a safe integer
    expect(rejected(RatedLine, line({ amount: '3000' }))).toEqual(['amount']);
    expect(rejected(RatedLine, line({ quantity: 1.5 }))).toEqual(['quantity']);
    expect(rejected(RatedLine, line({ unit_amount_decimal: 2.5 }))).toEqual(['unit_amount_decimal']);
    expect(rejected(RatedLine, line({ unit_amount_decimal: '2,5' }))).toEqual(['unit_amount_decimal']);
    expect(rejected(RatedLine, line({ currency: 'USD' }))).toEqual(['currency']);
    expect(rejected(RatedLine, line({ period: { start: T0 } }))).toEqual(['period.end']);
    expect(rejected(CreateSubscriptionInvoiceRequest, invoiceRequest({ lines: [line(), line({ amount: null })] }))).toEqual([
      'lines.1.amount',
    ]);
    expect(rejected(CreateSubscriptionInvoiceRequest, invoiceRequest({ billing_reason: 'upcoming' }))).toEqual(['billing_reason']);
    expect(rejected(CreateSubscriptionInvoiceRequest, invoiceRequest({ test_clock: undefined }))).toEqual(['test_clock']);
    expect(rejected(ApplyCreditsRequest, creditsRequest({ at: '2026-01-01T01:00:00Z' }))).toEqual(['at']);
    expect(rejected(ApplyCreditsRequest, creditsRequest({ lines: [{ id: 'il_1', amount: 5, price: null, metered: 'true' }] }))).toEqual([
      'lines.0.metered',
    ]);
    expect(
      rejected(ApplyCreditsReply, {
        applications: [{ line: 'il_2', amount: -1, credit_balance_transaction: 'cbtxn_1', credit_grant: 'credgr_1' }],
      }),
    ).toEqual(['applications.0.amount']);
  });

  it('drop keys the contract does not know (the receiver gets only what it declared)', () => {
    const parsed = RatePeriodRequest.parse({ subscription: 'sub_1', period_start: T0, period_end: T0 + 1, extra: 'x' });
    expect(parsed).toEqual({ subscription: 'sub_1', period_start: T0, period_end: T0 + 1 });
  });
});

describe('clock protocol contracts', () => {
  it('accept next_due / advance_to as rating sends them', () => {
    expect(rejected(ClockNextDueRequest, { clock: 'clock_1', after: T0, upTo: T0 + 86_400 })).toEqual([]);
    expect(rejected(ClockNextDueReply, { at: null })).toEqual([]);
    expect(rejected(ClockNextDueReply, { at: T0 })).toEqual([]);
    expect(rejected(ClockAdvanceToRequest, { clock: 'clock_1', to: T0 })).toEqual([]);
  });

  it('reject milliseconds-as-strings, missing clocks and misspelt bounds', () => {
    expect(rejected(ClockNextDueRequest, { clock: 'clock_1', after: T0, up_to: T0 })).toEqual(['upTo']);
    expect(rejected(ClockAdvanceToRequest, { to: T0 })).toEqual(['clock']);
    expect(rejected(ClockAdvanceToRequest, { clock: 'clock_1', to: String(T0 * 1000) })).toEqual(['to']);
  });
});

describe('rpc envelopes', () => {
  it('ApiRequest is what the gateway sends', () => {
    const req = {
      params: { customer: 'cus_1', limit: '10', items: [{ price: 'price_1' }] },
      path: { id: 'sub_1' },
      requestId: 'req_1',
      livemode: false,
    };
    expect(rejected(ApiRequest, req)).toEqual([]);
    expect(rejected(ApiRequest, { ...req, apiVersion: '2026-07-29.dahlia', idempotencyKey: 'k', sessionToken: 'ek_test_1' })).toEqual([]);
    expect(rejected(ApiRequest, { ...req, livemode: true })).toEqual(['livemode']);
    expect(rejected(ApiRequest, { ...req, path: { id: 1 } })).toEqual(['path.id']);
    expect(rejected(ApiRequest, { params: {}, path: {}, livemode: false })).toEqual(['requestId']);
  });

  it('RpcReply is a result or an error shape', () => {
    expect(rejected(RpcReply, { ok: true, result: { id: 'in_1' } })).toEqual([]);
    expect(
      rejected(RpcReply, {
        ok: false,
        error: { type: 'invalid_request_error', code: 'resource_missing', message: "No such customer: 'cus_x'", param: 'id', status: 404 },
      }),
    ).toEqual([]);
    expect(rejected(RpcReply, { ok: false, error: { type: 'bad_error', message: 'x', status: 400 } })).toEqual(['error.type']);
    expect(rejected(RpcReply, { ok: false, error: { type: 'api_error', message: 'x' } })).toEqual(['error.status']);
    expect(rejected(RpcReply, { ok: 'yes' })).toEqual(['ok']);
    // a typed reply checks its result too
    expect(rejected(rpcReply(ClockNextDueReply), { ok: true, result: { at: 'soon' } })).toEqual(['result.at']);
  });
});
