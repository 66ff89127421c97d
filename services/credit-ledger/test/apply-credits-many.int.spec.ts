import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  CREDIT_LEDGER_OPS,
  natsNames,
  type ApiRequest,
  type ApplyCreditsManyReply,
  type ApplyCreditsReply,
  type ApplyCreditsRequest,
  type Stripe,
} from '@meterflow/contracts';
import { newId } from '@meterflow/kernel';
import { startServiceForTest, type ServiceUnderTest } from '@meterflow/service-kit';
import { connectTestNats, createTestDatabase, deleteNamespaceStreams, testNamespace, type TestDatabase } from '@meterflow/testing';
import { creditLedgerDefinition } from '../src/credit-ledger.definition.js';
import { CreditLedgerModule } from '../src/credit-ledger.module.js';
import { rebuild } from '../src/rebuild.js';

/**
 * `credits.apply_many` against real Postgres and NATS: item by item it answers and posts exactly
 * what `credits.apply` does for the same invoices sent one by one. Every customer is on one
 * frozen test clock, so two customers given the same grants and invoices have ledgers equal up
 * to ids. Rating is stood in for by a NATS responder.
 */
const T0 = 1_900_000_000;
const CLOCK = 'clock_many';

let db: TestDatabase;
let ns: string;
let nc: NatsConnection;
let svc: ServiceUnderTest;
let client: pg.Client;
const subs: Subscription[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  ns = testNamespace();
  nc = await connectTestNats();
  const names = natsNames(ns);
  const respond = (subject: string, answer: (id: string) => unknown) =>
    subs.push(
      nc.subscribe(subject, {
        callback: (_err, msg) => {
          const id = msg.json<ApiRequest>().path.id ?? '';
          msg.respond(JSON.stringify({ ok: true, result: answer(id) }));
        },
      }),
    );
  respond(names.rpcSubject('rating', 'customers.retrieve'), (id) => ({ id, object: 'customer', test_clock: CLOCK }));
  respond(names.rpcSubject('rating', 'test_clocks.retrieve'), (id) => ({ id, object: 'test_helpers.test_clock', frozen_time: T0 }));
  await nc.flush();
  svc = await startServiceForTest(creditLedgerDefinition, CreditLedgerModule, {
    databaseUrl: db.url,
    namespace: ns,
    env: { CREDIT_LEDGER_SCHEDULER_INTERVAL_MS: '0' },
  });
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});

afterAll(async () => {
  await client?.end();
  await svc?.close();
  for (const s of subs) s.unsubscribe();
  if (nc) {
    await deleteNamespaceStreams(nc, ns).catch(() => {});
    await nc.drain();
  }
  await db?.drop();
});

// ---- helpers ---------------------------------------------------------------------------------

const api = <T>(op: string, params: Record<string, unknown> = {}, path: Record<string, string> = {}) =>
  svc.rpc.request<T>('credit-ledger', op, { params, path, requestId: newId('request'), livemode: false } satisfies ApiRequest);

type Line = ApplyCreditsRequest['lines'][number];
const metered = (id: string, amount: number, price: string): Line => ({ id, amount, price, metered: true });
const fixed = (id: string, amount: number): Line => ({ id, amount, price: 'price_fixed', metered: false });
const req = (invoice: string, customer: string, at: number, lines: Line[], currency = 'usd'): ApplyCreditsRequest => ({
  invoice,
  customer,
  currency,
  at,
  test_clock: CLOCK,
  lines,
});

const applyOne = (r: ApplyCreditsRequest) => svc.rpc.request<ApplyCreditsReply>('credit-ledger', CREDIT_LEDGER_OPS.applyCredits, r);
const applyMany = (requests: unknown[]) =>
  svc.rpc.request<ApplyCreditsManyReply>('credit-ledger', CREDIT_LEDGER_OPS.applyCreditsMany, { requests }, { timeoutMs: 20_000 });
const okResults = (reply: ApplyCreditsManyReply) =>
  reply.results.map((r) => {
    if (!r.ok) throw new Error(`item failed: ${JSON.stringify(r.error)}`);
    return r.result as ApplyCreditsReply;
  });

/** Creates a grant; its `name` is the label ids are compared by. */
async function grant(customer: string, name: string, value: number, extra: Record<string, unknown> = {}) {
  const { currency = 'usd', ...rest } = extra;
  const g = await api<Stripe.Billing.CreditGrant>('credit_grants.create', {
    customer,
    name,
    amount: { type: 'monetary', monetary: { currency, value: String(value) } },
    applicability_config: { scope: { price_type: 'metered' } },
    category: 'paid',
    ...rest,
  });
  return g.id;
}

const transactions = (customer: string) =>
  api<{ data: Stripe.Billing.CreditBalanceTransaction[] }>('credit_balance_transactions.list', { customer, limit: '100' }).then(
    (l) => l.data,
  );
const summary = (customer: string) =>
  api<Stripe.Billing.CreditBalanceSummary>('credit_balance_summary.retrieve', {
    customer,
    filter: { type: 'applicability_scope', applicability_scope: { price_type: 'metered' } },
  });
const grants = (customer: string) =>
  api<{ data: Stripe.Billing.CreditGrant[] }>('credit_grants.list', { customer, limit: '100' }).then((l) => l.data);

/** Every event of a customer's grant streams and invoice streams, in stream order (Stripe events included). */
async function streamsOf(customer: string, invoices: string[]) {
  const ids = (await grants(customer)).map((g) => `credit_grant-${g.id}`);
  const { rows } = await client.query<{ stream_id: string; stream_position: number; type: string; data: unknown }>(
    `SELECT stream_id, stream_position, type, data FROM credit_ledger.events WHERE stream_id = ANY($1::text[])
      ORDER BY stream_id, stream_position`,
    [[...ids, ...invoices.map((i) => `credit_application-${i}`)]],
  );
  const by: Record<string, unknown[]> = {};
  for (const r of rows) (by[r.stream_id] ??= []).push({ type: r.type, data: r.data });
  return by;
}

/** Make two customers' records comparable: grant ids by name, customer by a placeholder, generated ids dropped. */
async function normalizer(customer: string) {
  const names = new Map((await grants(customer)).map((g) => [g.id, `grant:${g.name}`]));
  return (value: unknown): unknown => {
    let s = JSON.stringify(value);
    for (const [id, name] of names) s = s.replaceAll(id, name);
    s = s
      .replaceAll(customer, 'CUSTOMER')
      .replace(/cbtxn_[A-Za-z0-9]+/g, 'cbtxn')
      .replace(/evt_[A-Za-z0-9]+/g, 'evt')
      .replace(/req_[A-Za-z0-9]+/g, 'req');
    const parsed = JSON.parse(s) as unknown;
    // Streams are keyed by id: re-key them by the normalized name, sorted.
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return Object.fromEntries(Object.entries(parsed).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return parsed;
  };
}

async function ledgerOf(customer: string, invoices: string[]) {
  const n = await normalizer(customer);
  return {
    transactions: n(await transactions(customer)),
    summary: n(await summary(customer)),
    grants: n(await grants(customer)),
    streams: n(await streamsOf(customer, invoices)),
  };
}

/** The same grants for a customer: several priorities, scopes, a future one, an expiring one, another currency. */
async function setUp(customer: string) {
  await grant(customer, 'base', 1000);
  await grant(customer, 'scoped', 500, { priority: '10', applicability_config: { scope: { prices: [{ id: 'price_x' }] } } });
  await grant(customer, 'later', 400, { effective_at: String(T0 + 100) });
  await grant(customer, 'promo', 400, { category: 'promotional', priority: '60', expires_at: String(T0 + 150) });
  await grant(customer, 'euro', 200, { currency: 'eur' });
  // Used up by the first paying invoice, then past its expiry: never a candidate again, so never expired by an apply.
  await grant(customer, 'short', 50, { priority: '0', expires_at: String(T0 + 180) });
}

/** Invoices that use grants up across invoices, fund `later` on the way, expire `promo`, and pay nothing twice. */
const invoicesOf = (customer: string): ApplyCreditsRequest[] => [
  req(`in_${customer}_0`, customer, T0 + 10, [fixed('il_0', 100)]),
  req(`in_${customer}_1`, customer, T0 + 50, [fixed('il_f', 500), metered('il_a', 100, 'price_y'), metered('il_b', 600, 'price_x')]),
  req(`in_${customer}_2`, customer, T0 + 120, [metered('il_c', 900, 'price_y')]),
  req(`in_${customer}_3`, customer, T0 + 200, [metered('il_d', 1000, 'price_z')]),
  req(`in_${customer}_4`, customer, T0 + 210, [metered('il_e', 50, 'price_z')]),
];

const eventCount = async () => Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM credit_ledger.events')).rows[0]!.n);

// ---- tests -----------------------------------------------------------------------------------

describe('credits.apply_many (int)', () => {
  const one = 'cus_one_by_one';
  const many = 'cus_in_a_batch';
  let batchAnswers: ApplyCreditsReply[];

  it('answers and posts exactly what credits.apply does for the same invoices one by one', async () => {
    await setUp(one);
    await setUp(many);
    const singles: ApplyCreditsReply[] = [];
    for (const r of invoicesOf(one)) singles.push(await applyOne(r));
    batchAnswers = okResults(await applyMany(invoicesOf(many)));

    const [n1, n2] = await Promise.all([normalizer(one), normalizer(many)]);
    expect(n2(batchAnswers)).toEqual(n1(singles));
    // What the invoices were paid, by grant name: the scenario did what it is meant to.
    expect((n2(batchAnswers) as ApplyCreditsReply[]).map((a) => a.applications.map((x) => [x.line, x.credit_grant, x.amount]))).toEqual([
      [],
      [
        ['il_a', 'grant:short', 50],
        ['il_a', 'grant:base', 50],
        ['il_b', 'grant:scoped', 500],
        ['il_b', 'grant:base', 100],
      ],
      [
        ['il_c', 'grant:base', 850],
        ['il_c', 'grant:later', 50],
      ],
      [['il_d', 'grant:later', 350]],
      [],
    ]);
    const invoices = (c: string) => invoicesOf(c).map((r) => r.invoice);
    const [l1, l2] = await Promise.all([ledgerOf(one, invoices(one)), ledgerOf(many, invoices(many))]);
    expect(l2).toEqual(l1);
    // Postings and the invoice records as expected: `later` funded at 120, `promo` expired at 200,
    // an empty answer stored for the invoice with candidates but nothing payable, none for the last.
    const kinds = (await transactions(many)).map((t) => [t.credit?.type ?? t.debit?.type, (t.credit ?? t.debit)!.amount.monetary!.value]);
    expect(kinds.filter(([k]) => k !== 'credits_granted')).toEqual([
      ['credits_applied', 350],
      ['credits_expired', 400],
      ['credits_applied', 50],
      ['credits_applied', 850],
      ['credits_applied', 100],
      ['credits_applied', 500],
      ['credits_applied', 50],
      ['credits_applied', 50],
    ]);
    const streams = await streamsOf(many, invoices(many));
    expect(streams[`credit_application-in_${many}_0`]).toEqual([
      expect.objectContaining({ data: expect.objectContaining({ applications: [] }) }),
    ]);
    expect(streams[`credit_application-in_${many}_4`]).toBeUndefined();
    expect((await summary(many)).balances).toEqual((await summary(one)).balances);
  });

  it('a repeat of the batch changes nothing and returns the same answers', async () => {
    const before = await eventCount();
    const again = okResults(await applyMany(invoicesOf(many)));
    expect(again).toEqual(batchAnswers);
    expect(await eventCount()).toBe(before);
    // Answers stored by single calls are returned to a batch too, and the other way round.
    expect(okResults(await applyMany(invoicesOf(one)))).toEqual(await Promise.all(invoicesOf(one).map(applyOne)));
    expect(await Promise.all(invoicesOf(many).map(applyOne))).toEqual(batchAnswers);
    expect(await eventCount()).toBe(before);
  });

  it('two invoices of one customer share a grant in request order, never overdrawing it', async () => {
    const a = 'cus_share';
    const b = 'cus_share_other';
    const ga = await grant(a, 'shared', 1000);
    const gb = await grant(b, 'other', 500);
    const reply = await applyMany([
      req('in_sh_1', a, T0 + 10, [metered('il_1', 700, 'price_m')]),
      req('in_sh_other', b, T0 + 10, [metered('il_1', 200, 'price_m')]),
      req('in_sh_2', a, T0 + 10, [metered('il_1', 400, 'price_m'), metered('il_2', 100, 'price_m')]),
      req('in_sh_3', a, T0 + 10, [metered('il_1', 100, 'price_m')]),
      // The same invoice twice in one batch: the second gets the first's answer.
      req('in_sh_2', a, T0 + 10, [metered('il_9', 999, 'price_m')]),
    ]);
    const [r1, rOther, r2, r3, r2again] = okResults(reply);
    expect(r1!.applications).toEqual([expect.objectContaining({ line: 'il_1', amount: 700, credit_grant: ga })]);
    expect(rOther!.applications).toEqual([expect.objectContaining({ line: 'il_1', amount: 200, credit_grant: gb })]);
    expect(r2!.applications).toEqual([expect.objectContaining({ line: 'il_1', amount: 300, credit_grant: ga })]);
    expect(r3).toEqual({ applications: [] });
    expect(r2again).toEqual(r2);
    const applied = (await transactions(a)).filter((t) => t.debit?.type === 'credits_applied');
    expect(applied.map((t) => t.debit!.amount.monetary!.value).sort()).toEqual([300, 700]);
    expect((await summary(a)).balances[0]).toMatchObject({ ledger_balance: { monetary: { value: 0 } } });
    expect((await summary(b)).balances[0]).toMatchObject({ ledger_balance: { monetary: { value: 300 } } });
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM credit_ledger.credit_grants WHERE ledger_balance < 0');
    expect(rows[0]!.n).toBe('0');
  });

  it('a malformed or failing item fails alone; the others are applied', async () => {
    const c = 'cus_faulty';
    await grant(c, 'g', 500);
    const reply = await applyMany([
      req('in_ok_1', c, T0 + 10, [metered('il_1', 100, 'price_m')]),
      { ...req('in_malformed', c, T0 + 10, []), lines: [{ id: 'il_1', amount: '30.00', price: 'price_m', metered: true }] },
      // Well-formed, but Postgres refuses text with a NUL: this item's write fails, and only it.
      req('in_nul\u0000', c, T0 + 10, [metered('il_1', 100, 'price_m')]),
      req('in_ok_2', c, T0 + 10, [metered('il_1', 150, 'price_m')]),
    ]);
    expect(reply.results).toHaveLength(4);
    expect(reply.results[0]).toMatchObject({ ok: true, result: { applications: [expect.objectContaining({ amount: 100 })] } });
    expect(reply.results[1]).toEqual({
      ok: false,
      error: {
        type: 'invalid_request_error',
        code: 'parameter_invalid',
        param: 'lines[0][amount]',
        message: 'Malformed request: lines[0][amount]: Invalid input: expected number, received string',
        status: 400,
      },
    });
    expect(reply.results[2]).toMatchObject({ ok: false, error: { type: 'api_error', status: 500 } });
    expect(reply.results[3]).toMatchObject({ ok: true, result: { applications: [expect.objectContaining({ amount: 150 })] } });
    expect((await summary(c)).balances[0]).toMatchObject({ ledger_balance: { monetary: { value: 250 } } });
    // The envelope itself is checked: 1..500 requests.
    await expect(applyMany([])).rejects.toMatchObject({ status: 400, param: 'requests' });
    await expect(applyMany(Array.from({ length: 501 }, () => ({})))).rejects.toMatchObject({ status: 400, param: 'requests' });
  });

  it('a batch racing single calls on the same grant never overdraws it nor applies twice', async () => {
    const c = 'cus_race';
    const g = await grant(c, 'contended', 1000);
    const batch = Array.from({ length: 4 }, (_, i) => req(`in_race_b${i}`, c, T0 + 10, [metered('il_1', 200, 'price_m')]));
    const singles = Array.from({ length: 2 }, (_, i) => req(`in_race_s${i}`, c, T0 + 10, [metered('il_1', 200, 'price_m')]));
    // The batch is sent twice, concurrently with single calls: the second copy must get the first's answers.
    const [b1, b2, ...s] = await Promise.all([applyMany(batch), applyMany(batch), ...singles.map(applyOne)]);
    const answers = [...okResults(b1!), ...(s as ApplyCreditsReply[])];
    expect(okResults(b2!)).toEqual(okResults(b1!));
    const total = answers.flatMap((a) => a.applications).reduce((sum, x) => sum + x.amount, 0);
    expect(total).toBe(1000); // 6 x 200 asked for, 1000 there
    const applied = (await transactions(c)).filter((t) => t.debit?.type === 'credits_applied');
    expect(applied.map((t) => t.id).sort()).toEqual(answers.flatMap((a) => a.applications.map((x) => x.credit_balance_transaction)).sort());
    const row = await client.query<{ ledger_balance: string }>('SELECT ledger_balance FROM credit_ledger.credit_grants WHERE id = $1', [g]);
    expect(row.rows[0]!.ledger_balance).toBe('0');
  });

  it('the read models rebuilt by replay equal the live ones', async () => {
    const tables = async () => [
      (await client.query('SELECT * FROM credit_ledger.credit_grants ORDER BY id')).rows,
      (await client.query('SELECT * FROM credit_ledger.credit_balance_transactions ORDER BY id')).rows,
    ];
    const before = await tables();
    const r = await rebuild(db.url);
    expect(r.transactions).toBe(before[1]!.length);
    expect(await tables()).toEqual(before);
  });
});
