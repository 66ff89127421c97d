import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import { API_ROUTES, type ApiRoute } from '@meterflow/contracts';

/**
 * Hostile requests against every public route of the table (NUL and unpaired surrogates, huge
 * and malformed numbers, deep nesting, wrong types, unknown ids): the system answers each with
 * a Stripe-shaped 2xx or 4xx, never a 5xx. Bounded: RUNS_PER_ROUTE requests per route.
 */
const RUNS_PER_ROUTE = Number(process.env.MF_FUZZ_RUNS ?? 5);

const hostileString = fc.oneof(
  fc.constantFrom(
    'a\u0000b',
    '\u0000',
    'x\ud800',
    '\udc00y',
    '1e400',
    '99999999999999999999999999999',
    '-99999999999999999999',
    '-1',
    '0',
    '1.5',
    'NaN',
    'Infinity',
    'true',
    'null',
    'cus_doesnotexist',
    'price_nope',
    'sub_nope',
    'in_nope',
    'mtr_nope',
    'credgr_nope',
    'clock_nope',
    '😀'.repeat(50),
    'x'.repeat(5000),
    "'; DROP TABLE events; --",
    '%00',
    '[]',
    '{}',
  ),
  fc.string({ maxLength: 20 }),
  fc.integer().map(String),
);

/** A form value: a scalar, an array, or an object nested a few levels. */
const formValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, hostileString, tie('arr'), tie('obj')),
  arr: fc.array(tie('value'), { maxLength: 3 }),
  obj: fc.dictionary(fc.constantFrom('a', 'price', 'meter', '0', 'x\u0000'), tie('value'), { maxKeys: 3 }),
})).value;

const PARAM_NAMES = [
  'name',
  'email',
  'description',
  'amount',
  'unit_amount',
  'unit_amount_decimal',
  'currency',
  'customer',
  'price',
  'product',
  'items',
  'metadata',
  'limit',
  'starting_after',
  'ending_before',
  'expand',
  'timestamp',
  'event_name',
  'payload',
  'identifier',
  'display_name',
  'default_aggregation',
  'recurring',
  'quantity',
  'test_clock',
  'frozen_time',
  'subscription',
  'invoice',
  'category',
  'applicability_config',
  'start_time',
  'end_time',
  'value_grouping_window',
  'cancel_at_period_end',
  'billing_thresholds',
  'transform_quantity',
  'tiers',
  'tiers_mode',
  'billing_scheme',
  'alert_type',
  'usage_threshold',
  'title',
  'auto_advance',
  'url',
  'enabled_events',
];

const params = fc.dictionary(fc.oneof(fc.constantFrom(...PARAM_NAMES), fc.string({ maxLength: 8 })), formValue, { maxKeys: 5 });
const pathId = fc.oneof(hostileString, fc.constantFrom('cus_1', 'x'.repeat(300)));

/** Stripe's form encoding by hand (so that NUL and broken surrogates reach the wire as sent). */
function encodeForm(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => encodeForm(v, `${prefix}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => encodeForm(v, prefix ? `${prefix}[${k}]` : k));
  return [`${enc(prefix)}=${enc(String(value))}`];
}
// encodeURIComponent throws on unpaired surrogates: percent-encode their UTF-8 (WTF-8) bytes.
const enc = (s: string): string =>
  s.replace(/[\s\S]/gu, (ch) => {
    try {
      return encodeURIComponent(ch);
    } catch {
      const c = ch.charCodeAt(0);
      return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    }
  });

/** A v2 JSON body, sometimes nested far deeper than any real request. */
const jsonBody = fc.oneof(
  params.map((p) => JSON.stringify(p)),
  fc.integer({ min: 50, max: 5000 }).map((depth) => `${'{"payload":'.repeat(depth)}1${'}'.repeat(depth)}`),
  fc.constantFrom('[]', '"x"', '123', 'null', '{"event_name":"\\u0000","payload":{"stripe_customer_id":"\\ud800"}}', '{'),
);

interface Failure {
  route: string;
  url: string;
  body: string;
  status: number;
  response: string;
}

const statuses = new Map<number, number>();

async function send(route: ApiRoute, id: string, p: Record<string, unknown>, json: string): Promise<Failure | undefined> {
  const apiUrl = inject('apiUrl');
  const path = route.path.replace(/:[a-z_]+/g, enc(id));
  const form = encodeForm(p).join('&');
  const isPost = route.method === 'POST';
  const body = isPost ? (route.api === 'v2' ? json : form) : '';
  const url = `${apiUrl}${path}${!isPost && form ? `?${form}` : ''}`;
  const res = await fetch(url, {
    method: route.method,
    headers: {
      authorization: `Bearer ${inject('apiKey')}`,
      'content-type': route.api === 'v2' ? 'application/json' : 'application/x-www-form-urlencoded',
    },
    ...(isPost ? { body } : {}),
  });
  const text = await res.text();
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  if (res.status < 500) return undefined;
  return { route: `${route.method} ${route.path}`, url, body: body.slice(0, 300), status: res.status, response: text.slice(0, 300) };
}

describe('fuzz: hostile input against every public route', () => {
  it(`answers ${RUNS_PER_ROUTE} hostile requests per route without a single 5xx`, async () => {
    const failures: Failure[] = [];
    let sent = 0;
    // The v2 meter event stream authenticates with a session token, not the key: a 401 each time.
    for (const route of API_ROUTES) {
      await fc.assert(
        fc.asyncProperty(pathId, params, jsonBody, async (id, p, json) => {
          sent++;
          const f = await send(route, id, p, json);
          if (f) failures.push(f);
          return true;
        }),
        { numRuns: RUNS_PER_ROUTE, seed: Number(process.env.MF_FUZZ_SEED ?? 20261205) },
      );
    }
    if (failures.length) console.error(JSON.stringify(failures.slice(0, 20), null, 1));
    expect(sent).toBe(API_ROUTES.length * RUNS_PER_ROUTE);
    // The requests reached the services (not only the gateway's checks).
    expect([...statuses.keys()]).toEqual(expect.arrayContaining([400, 404]));
    expect(failures).toEqual([]);
  });
});
