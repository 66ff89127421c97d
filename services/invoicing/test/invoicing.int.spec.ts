import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import type {
  ApiRequest,
  ApplyCreditsRequest,
  CreateSubscriptionInvoiceRequest,
  RatePeriodRequest,
  RatedLine,
  ServiceName,
} from '@meterflow/contracts';
import { EVENT_STORE, startServiceForTest, type ServiceUnderTest } from '@meterflow/service-kit';
import type { PgEventStore } from '@meterflow/event-store';
import {
  connectTestNats,
  createTestDatabase,
  deleteNamespaceStreams,
  eventually,
  testNamespace,
  type TestDatabase,
} from '@meterflow/testing';
import { invoicingDefinition } from '../src/invoicing.definition.js';
import { InvoicingModule } from '../src/invoicing.module.js';
import { rebuildReadModels } from '../src/adapters/projections/invoice.projection.js';
import { DueInvoices } from '../src/application/due-invoices.js';
import { Finalization } from '../src/application/finalization.js';
import { DUE_DRAFTS, type DueDrafts } from '../src/application/ports.js';

/**
 * The invoicing service in-process, driven over NATS exactly as the gateway and rating drive it.
 * Rating and the credit ledger are stood in for by real NATS responders on their subjects.
 */
let db: TestDatabase;
let svc: ServiceUnderTest;
let ns: string;
let peers: NatsConnection;
const received: { id: string; type: string; object: any; previous?: any }[] = [];

const T0 = Date.UTC(2026, 0, 1) / 1000;
const PERIOD_END = Date.UTC(2026, 1, 1) / 1000;
const CLOCK = 'clock_inttest';
const customers: Record<string, { id: string; object: 'customer'; test_clock: string | null; currency: string | null }> = {
  cus_clocked: { id: 'cus_clocked', object: 'customer', test_clock: CLOCK, currency: 'usd' },
  cus_plain: { id: 'cus_plain', object: 'customer', test_clock: null, currency: null },
  cus_other: { id: 'cus_other', object: 'customer', test_clock: null, currency: 'usd' },
};
let frozenTime = PERIOD_END;
/** Usage keeps arriving during the grace period: rating re-rates 4 hours at finalization. */
let ratedHours = 4;
const rateCalls: RatePeriodRequest[] = [];
/** The ledger fails this many `credits.apply` calls before answering. */
let ledgerFailures = 0;
const creditCalls: ApplyCreditsRequest[] = [];

const rated = (hours: number): RatedLine => ({
  subscription_item: 'si_rental',
  price: 'price_hour',
  product: 'prod_rental',
  meter: 'mtr_minutes',
  quantity: hours,
  amount: hours * 1000,
  currency: 'usd',
  unit_amount_decimal: '1000',
  description: `${hours} × Car rental (at $10.00 / hour)`,
  period: { start: T0, end: PERIOD_END },
});

function respond(nc: NatsConnection, service: ServiceName, op: string, handler: (payload: any) => unknown) {
  nc.subscribe(svc.names.rpcSubject(service, op), {
    callback: (_e, msg) => {
      try {
        msg.respond(JSON.stringify({ ok: true, result: handler(msg.json()) }));
      } catch (e) {
        msg.respond(
          JSON.stringify({
            ok: false,
            error: { type: 'invalid_request_error', code: 'resource_missing', message: (e as Error).message, status: 404 },
          }),
        );
      }
    },
  });
}

/** Requests received per batch op. */
const batchCalls: Record<string, number> = {};

/** A batch op answered item by item with the single op's handler (an item's error fails only it). */
function respondMany(nc: NatsConnection, service: ServiceName, op: string, handler: (payload: any) => unknown) {
  respond(nc, service, op, (r: { requests: unknown[] }) => {
    batchCalls[op] = (batchCalls[op] ?? 0) + 1;
    return {
      results: r.requests.map((item) => {
        try {
          return { ok: true, result: handler(item) };
        } catch (e) {
          return {
            ok: false,
            error: { type: 'invalid_request_error', code: 'resource_missing', message: (e as Error).message, status: 404 },
          };
        }
      }),
    };
  });
}

const req = (params: Record<string, unknown> = {}, path: Record<string, string> = {}): ApiRequest => ({
  params,
  path,
  requestId: 'req_inttest',
  livemode: false,
});
const call = <T = any>(op: string, params: Record<string, unknown> = {}, path: Record<string, string> = {}) =>
  svc.rpc.request<T>('invoicing', op, req(params, path));

beforeAll(async () => {
  db = await createTestDatabase();
  ns = testNamespace();
  svc = await startServiceForTest(invoicingDefinition, InvoicingModule, {
    databaseUrl: db.url,
    namespace: ns,
    env: { INVOICE_SCHEDULER_INTERVAL_MS: '200' },
  });
  peers = await connectTestNats();
  respond(peers, 'rating', 'customers.retrieve', (r: ApiRequest) => {
    const c = customers[r.path.id!];
    if (!c) throw new Error(`No such customer: '${r.path.id}'`);
    return c;
  });
  respond(peers, 'rating', 'test_clocks.retrieve', (r: ApiRequest) => ({
    id: r.path.id,
    object: 'test_helpers.test_clock',
    frozen_time: frozenTime,
    status: 'ready',
  }));
  respond(peers, 'rating', 'prices.retrieve', (r: ApiRequest) => ({
    id: r.path.id,
    object: 'price',
    currency: 'usd',
    product: 'prod_kit',
    unit_amount: 250,
    unit_amount_decimal: '250',
    recurring: null,
  }));
  const ratePeriod = (r: RatePeriodRequest) => {
    rateCalls.push(r);
    if (r.subscription === 'sub_gone') throw new Error(`No such subscription: '${r.subscription}'`);
    return { lines: [rated(ratedHours)] };
  };
  respond(peers, 'rating', 'billing.rate_period', ratePeriod);
  respondMany(peers, 'rating', 'billing.rate_periods', ratePeriod);
  const applyCredits = (r: ApplyCreditsRequest) => {
    creditCalls.push(r);
    if (ledgerFailures > 0) {
      ledgerFailures--;
      throw new Error('ledger unavailable');
    }
    const metered = r.lines.find((l) => l.metered)!;
    return {
      applications: [
        {
          line: metered.id,
          amount: Math.min(1000, metered.amount),
          credit_balance_transaction: `cbtxn_for_${r.invoice}`,
          credit_grant: 'credgr_1',
        },
      ],
    };
  };
  respond(peers, 'credit-ledger', 'credits.apply', applyCredits);
  respondMany(peers, 'credit-ledger', 'credits.apply_many', applyCredits);
  await peers.flush();
  svc.nc.subscribe(svc.names.eventSubject('>'), {
    callback: (_e, msg) => {
      const e = msg.json<{ id: string; type: string; data: { object: any; previous_attributes?: any } }>();
      received.push({ id: e.id, type: e.type, object: e.data.object, previous: e.data.previous_attributes });
    },
  });
});

afterAll(async () => {
  await peers?.drain().catch(() => {});
  if (svc) await deleteNamespaceStreams(svc.nc, ns).catch(() => {});
  await svc?.close();
  // pg-pool resolves end() before its sockets close; let them, so DROP ... (FORCE) kills nobody
  await new Promise((r) => setTimeout(r, 200));
  await db?.drop();
});

const subscriptionInvoice = (over: Partial<CreateSubscriptionInvoiceRequest> = {}): CreateSubscriptionInvoiceRequest => ({
  idempotency_key: `sub_rental:${T0}:subscription_cycle`,
  customer: 'cus_clocked',
  subscription: 'sub_rental',
  currency: 'usd',
  billing_reason: 'subscription_cycle',
  period_start: T0,
  period_end: PERIOD_END,
  created: PERIOD_END,
  test_clock: CLOCK,
  lines: [rated(3)],
  ...over,
});

const eventFor = (type: string, id: string) => eventually(async () => received.find((e) => e.type === type && e.object.id === id), 10_000);

describe('subscription invoices through a test clock', () => {
  let invoiceId: string;

  it('creates one draft per idempotency key', async () => {
    const a = await svc.rpc.request<any>('invoicing', 'subscription_invoices.create', subscriptionInvoice());
    const b = await svc.rpc.request<any>('invoicing', 'subscription_invoices.create', subscriptionInvoice({ lines: [rated(99)] }));
    invoiceId = a.id;
    expect(a.id).toMatch(/^in_/);
    expect(b.id).toBe(a.id);
    expect(a).toMatchObject({
      object: 'invoice',
      status: 'draft',
      billing_reason: 'subscription_cycle',
      auto_advance: true,
      automatically_finalizes_at: PERIOD_END + 3600,
      created: PERIOD_END,
      customer: 'cus_clocked',
      test_clock: CLOCK,
      subtotal: 3000,
      total: 3000,
      amount_due: 3000,
      number: null,
      parent: { subscription_details: { subscription: 'sub_rental' } },
      period_start: T0,
      period_end: PERIOD_END,
    });
    expect(a.lines.data[0]).toMatchObject({
      object: 'line_item',
      amount: 3000,
      quantity: 3,
      period: { start: T0, end: PERIOD_END },
      pricing: { price_details: { price: 'price_hour', product: 'prod_rental' }, unit_amount_decimal: '1000' },
      parent: {
        type: 'subscription_item_details',
        subscription_item_details: { subscription: 'sub_rental', subscription_item: 'si_rental' },
      },
    });
    expect(await call('invoices.retrieve', {}, { id: a.id })).toEqual(a);
    const created = await eventFor('invoice.created', a.id);
    expect(created.id).toMatch(/^evt_/);
    expect(received.filter((e) => e.type === 'invoice.created' && e.object.id === a.id)).toHaveLength(1);
  });

  it('reports the finalization due to the clock, and finalizes it when the clock gets there', async () => {
    expect(await svc.rpc.request('invoicing', 'clock.next_due', { clock: CLOCK, after: PERIOD_END, upTo: PERIOD_END + 7200 })).toEqual({
      at: PERIOD_END + 3600,
    });
    expect(await svc.rpc.request('invoicing', 'clock.next_due', { clock: CLOCK, after: PERIOD_END, upTo: PERIOD_END + 60 })).toEqual({
      at: null,
    });
    expect(await svc.rpc.request('invoicing', 'clock.advance_to', { clock: CLOCK, to: PERIOD_END + 3600 })).toEqual({ done: true });

    expect(rateCalls.at(-1)).toEqual({
      subscription: 'sub_rental',
      period_start: T0,
      period_end: PERIOD_END,
      billing_reason: 'subscription_cycle',
    });
    const inv = await call('invoices.retrieve', {}, { id: invoiceId });
    const line = inv.lines.data[0];
    expect(inv).toMatchObject({
      status: 'open',
      subtotal: 4000,
      total: 3000,
      amount_due: 3000,
      amount_paid: 0,
      amount_remaining: 3000,
      automatically_finalizes_at: null,
      status_transitions: { finalized_at: PERIOD_END + 3600, paid_at: null },
      total_pretax_credit_amounts: [
        { amount: 1000, type: 'credit_balance_transaction', credit_balance_transaction: `cbtxn_for_${invoiceId}` },
      ],
    });
    expect(inv.number).toMatch(/^[0-9A-F]{8}-0001$/);
    expect(line).toMatchObject({
      amount: 4000,
      quantity: 4,
      pretax_credit_amounts: [{ amount: 1000, type: 'credit_balance_transaction' }],
    });
    expect(creditCalls.at(-1)).toEqual({
      invoice: invoiceId,
      customer: 'cus_clocked',
      currency: 'usd',
      at: PERIOD_END + 3600,
      test_clock: CLOCK,
      lines: [{ id: line.id, amount: 4000, price: 'price_hour', metered: true }],
    });
    expect(await svc.rpc.request('invoicing', 'clock.next_due', { clock: CLOCK, after: PERIOD_END, upTo: PERIOD_END + 7200 })).toEqual({
      at: null,
    });

    const finalized = await eventFor('invoice.finalized', invoiceId);
    expect(finalized.object).toMatchObject({ status: 'open', amount_due: 3000, total_pretax_credit_amounts: [{ amount: 1000 }] });
  });

  it('refuses what the lifecycle forbids', async () => {
    await expect(call('invoices.finalize', {}, { id: invoiceId })).rejects.toMatchObject({
      status: 400,
      code: 'status_transition_invalid',
    });
    await expect(call('invoices.del', {}, { id: invoiceId })).rejects.toMatchObject({ status: 400, code: 'invoice_not_editable' });
    await expect(call('invoices.retrieve', {}, { id: 'in_nope' })).rejects.toMatchObject({
      status: 404,
      code: 'resource_missing',
      message: "No such invoice: 'in_nope'",
    });
    await expect(call('invoices.create', { customer: 'cus_nope' })).rejects.toMatchObject({ status: 404, code: 'resource_missing' });
    await expect(call('invoices.create', { customer: 'cus_plain', bogus: '1' })).rejects.toMatchObject({
      status: 400,
      code: 'parameter_unknown',
    });
  });

  it('voids, announcing the invoice with its credits for the ledger to reinstate', async () => {
    frozenTime = PERIOD_END + 7200;
    const voided = await call('invoices.void', {}, { id: invoiceId });
    expect(voided).toMatchObject({ status: 'void', status_transitions: { voided_at: PERIOD_END + 7200 } });
    const e = await eventFor('invoice.voided', invoiceId);
    expect(e.object).toMatchObject({
      customer: 'cus_clocked',
      currency: 'usd',
      test_clock: CLOCK,
      metadata: {},
      total_pretax_credit_amounts: [{ amount: 1000 }],
      status_transitions: { voided_at: PERIOD_END + 7200 },
    });
    expect(e.object.lines.data[0].pretax_credit_amounts).toEqual([
      { amount: 1000, type: 'credit_balance_transaction', credit_balance_transaction: `cbtxn_for_${invoiceId}` },
    ]);
    await expect(call('invoices.pay', { paid_out_of_band: 'true' }, { id: invoiceId })).rejects.toMatchObject({
      code: 'status_transition_invalid',
    });
  });
});

/** Drafts of customers without a clock that the real-time scheduler must leave alone. */
const FAR_FUTURE = 4_000_000_000;

describe('subscription invoices, concurrency and failures', () => {
  it('concurrent hand-overs with one key make one invoice', async () => {
    const key = `sub_race:${T0}:subscription_cycle`;
    const replies = await Promise.all(
      Array.from({ length: 4 }, () =>
        svc.rpc.request<any>(
          'invoicing',
          'subscription_invoices.create',
          subscriptionInvoice({
            idempotency_key: key,
            subscription: 'sub_race',
            customer: 'cus_other',
            test_clock: null,
            created: FAR_FUTURE,
          }),
        ),
      ),
    );
    expect(new Set(replies.map((r) => r.id)).size).toBe(1);
    const list = await call('invoices.list', { subscription: 'sub_race' });
    expect(list.data).toHaveLength(1);
  });

  it('a finalization that fails at the ledger stays a draft and succeeds when retried', async () => {
    const inv = await svc.rpc.request<any>(
      'invoicing',
      'subscription_invoices.create',
      subscriptionInvoice({
        idempotency_key: `sub_retry:${T0}:subscription_cycle`,
        subscription: 'sub_retry',
        customer: 'cus_other',
        test_clock: null,
        created: FAR_FUTURE,
      }),
    );
    ledgerFailures = 1;
    await expect(call('invoices.finalize', {}, { id: inv.id })).rejects.toMatchObject({ message: 'ledger unavailable' });
    expect(await call('invoices.retrieve', {}, { id: inv.id })).toMatchObject({
      status: 'draft',
      number: null,
      total_pretax_credit_amounts: [],
    });
    const open = await call('invoices.finalize', {}, { id: inv.id });
    expect(open).toMatchObject({ status: 'open', subtotal: 4000, amount_due: 3000 });
    expect(open.number).toMatch(/^[0-9A-F]{8}-0001$/);
    expect(received.filter((e) => e.type === 'invoice.finalized' && e.object.id === inv.id).length).toBeLessThanOrEqual(1);
    await eventFor('invoice.finalized', inv.id);
  });
});

describe('test clocks, batches', () => {
  const handOver = (clock: string, i: number, customer: string) =>
    svc.rpc.request<any>(
      'invoicing',
      'subscription_invoices.create',
      subscriptionInvoice({
        idempotency_key: `sub_${clock}_${i}:${T0}:subscription_cycle`,
        subscription: `sub_${clock}_${i}`,
        customer,
        test_clock: clock,
      }),
    );
  const advanceTo = (clock: string, to: number) => svc.rpc.request('invoicing', 'clock.advance_to', { clock, to });

  it('finalizes drafts due together as a batch, numbering each customer in turn', async () => {
    const made = [];
    for (let i = 0; i < 6; i++) made.push(await handOver('clock_batch', i, i % 2 ? 'cus_batch_b' : 'cus_batch_a'));
    const before = {
      rate: batchCalls['billing.rate_periods'] ?? 0,
      credits: batchCalls['credits.apply_many'] ?? 0,
      single: rateCalls.length,
    };
    await advanceTo('clock_batch', PERIOD_END + 3600);
    // One re-rating request and one ledger request for the whole batch.
    expect(batchCalls['billing.rate_periods']).toBe(before.rate + 1);
    expect(batchCalls['credits.apply_many']).toBe(before.credits + 1);
    expect(rateCalls.length - before.single).toBe(6);
    const done = await Promise.all(made.map((m) => call('invoices.retrieve', {}, { id: m.id })));
    for (const inv of done) {
      expect(inv).toMatchObject({
        status: 'open',
        subtotal: 4000,
        amount_due: 3000,
        status_transitions: { finalized_at: PERIOD_END + 3600 },
      });
      expect(inv.lines.data[0].pretax_credit_amounts).toEqual([
        { amount: 1000, type: 'credit_balance_transaction', credit_balance_transaction: `cbtxn_for_${inv.id}` },
      ]);
    }
    const numbers = (customer: string) =>
      done
        .filter((d) => d.customer === customer)
        .map((d) => d.number.split('-')[1])
        .sort();
    expect(numbers('cus_batch_a')).toEqual(['0001', '0002', '0003']);
    expect(numbers('cus_batch_b')).toEqual(['0001', '0002', '0003']);
    for (const inv of done) await eventFor('invoice.finalized', inv.id);
  });

  it('answers a clock step within its budget: done false while drafts due are left, carried on by the next call', async () => {
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await handOver('clock_budget', i, 'cus_batch_d'));
    // Batches of two and no time to spare: one batch per call.
    const due = new DueInvoices(svc.app.get<DueDrafts>(DUE_DRAFTS), svc.app.get(Finalization), undefined, 2);
    const steps: { done: boolean; finalized: number }[] = [];
    for (let r = { done: false, finalized: 0 }; !r.done;) steps.push((r = await due.advanceTo('clock_budget', PERIOD_END + 3600, 0)));
    expect(steps).toEqual([
      { done: false, finalized: 2 },
      { done: false, finalized: 2 },
      { done: true, finalized: 1 },
    ]);
    for (const m of made) expect((await call('invoices.retrieve', {}, { id: m.id })).status).toBe('open');
    // Over NATS with the default budget, nothing is left: done at once.
    expect(await advanceTo('clock_budget', PERIOD_END + 3600)).toEqual({ done: true });
  });

  it('falls back to one invoice at a time when the batch fails, and reports what still fails', async () => {
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await handOver('clock_fallback', i, 'cus_batch_c'));
    ledgerFailures = 100;
    await expect(advanceTo('clock_fallback', PERIOD_END + 3600)).rejects.toMatchObject({ message: 'ledger unavailable' });
    for (const m of made) expect((await call('invoices.retrieve', {}, { id: m.id })).status).toBe('draft');
    ledgerFailures = 1; // the batch fails once; one at a time, each succeeds
    await advanceTo('clock_fallback', PERIOD_END + 3600);
    for (const m of made) expect(await call('invoices.retrieve', {}, { id: m.id })).toMatchObject({ status: 'open', amount_due: 3000 });
    ledgerFailures = 0;
  });
});

describe('test clocks, odd cases', () => {
  it('keeps the handed-over lines of a subscription rating no longer knows', async () => {
    const inv = await svc.rpc.request<any>(
      'invoicing',
      'subscription_invoices.create',
      subscriptionInvoice({
        idempotency_key: `sub_gone:${T0}:subscription_cycle`,
        subscription: 'sub_gone',
        customer: 'cus_other',
        test_clock: null,
        created: FAR_FUTURE,
      }),
    );
    const open = await call('invoices.finalize', {}, { id: inv.id });
    expect(open).toMatchObject({ status: 'open', subtotal: 3000, amount_due: 2000 });
  });

  it('reports an overdue draft as due right after what the clock has processed', async () => {
    const inv = await svc.rpc.request<any>(
      'invoicing',
      'subscription_invoices.create',
      subscriptionInvoice({
        idempotency_key: `sub_late:${T0}:subscription_cycle`,
        subscription: 'sub_late',
        test_clock: 'clock_late',
        created: T0,
      }),
    );
    const nextDue = (after: number, upTo: number) => svc.rpc.request('invoicing', 'clock.next_due', { clock: 'clock_late', after, upTo });
    expect(await nextDue(T0 + 7200, T0 + 9000)).toEqual({ at: T0 + 7201 });
    expect(await nextDue(T0, T0 + 60)).toEqual({ at: null });
    await svc.rpc.request('invoicing', 'clock.advance_to', { clock: 'clock_late', to: T0 + 7201 });
    expect(await call('invoices.retrieve', {}, { id: inv.id })).toMatchObject({
      status: 'open',
      status_transitions: { finalized_at: T0 + 3600 },
    });
    expect(await nextDue(T0 + 7201, T0 + 9000)).toEqual({ at: null });
  });

  it('exposes finalization metrics', async () => {
    const text = await (await fetch(`${svc.url}/metrics`)).text();
    expect(text).toMatch(/meterflow_invoices_finalized_total\{outcome="finalized"\} [1-9]/);
  });
});

describe('subscription_invoices.create_many', () => {
  const MANY_CLOCK = 'clock_many';
  for (const c of ['cus_many_single', 'cus_many_batch', 'cus_many_a', 'cus_many_b'])
    customers[c] = { id: c, object: 'customer', test_clock: MANY_CLOCK, currency: 'usd' };
  const many = (requests: unknown[]) => svc.rpc.request<{ results: any[] }>('invoicing', 'subscription_invoices.create_many', { requests });
  const hand = (name: string, customer = 'cus_many_a') =>
    subscriptionInvoice({ idempotency_key: `${name}:${T0}:subscription_cycle`, subscription: name, customer, test_clock: MANY_CLOCK });
  const store = () => svc.app.get<PgEventStore>(EVENT_STORE);
  const count = async (sql: string) => Number((await store().pool.query<{ n: string }>(sql)).rows[0]!.n);
  const invoicesFor = (subscription: string) => count(`SELECT count(*) AS n FROM invoices WHERE subscription = '${subscription}'`);
  /** A stream's events with every id that differs between two equivalent invoices replaced by a placeholder. */
  const swap = (value: unknown, ids: Record<string, string>) => {
    let text = JSON.stringify(value);
    for (const [id, placeholder] of Object.entries(ids)) text = text.split(id).join(placeholder);
    return JSON.parse(text.replace(/"evt_[A-Za-z0-9]+"/g, '"evt"'));
  };
  const normalized = async (streamId: string, ids: Record<string, string>) =>
    swap(
      (await store().readStream(streamId)).map((e) => ({ type: e.type, data: e.data })),
      ids,
    );
  const idsOf = (inv: any, items: string[]) => ({
    [inv.id]: 'INVOICE',
    [inv.customer]: 'CUSTOMER',
    [inv.parent.subscription_details.subscription]: 'SUBSCRIPTION',
    ...Object.fromEntries(inv.lines.data.map((l: any, i: number) => [l.id, `LINE${i}`])),
    ...Object.fromEntries(items.map((id, i) => [id, `ITEM${i}`])),
  });

  it('makes invoices identical in content to the single op, pending items included, Stripe events as today', async () => {
    const setup = async (customer: string, subscription: string) => {
      const fee = await call('invoiceitems.create', { customer, amount: '700', currency: 'usd', description: 'Setup fee' });
      const mine = await call('invoiceitems.create', { customer, amount: '50', currency: 'usd', description: 'Extra', subscription });
      const eur = await call('invoiceitems.create', { customer, amount: '900', currency: 'eur', description: 'Euro fee' });
      const other = await call('invoiceitems.create', {
        customer,
        amount: '60',
        currency: 'usd',
        description: 'Other sub',
        subscription: `${subscription}_other`,
      });
      return { on: [fee.id, mine.id], off: [eur.id, other.id] };
    };
    const single = await setup('cus_many_single', 'sub_many_single');
    const batched = await setup('cus_many_batch', 'sub_many_batch');

    const one = await svc.rpc.request<any>('invoicing', 'subscription_invoices.create', hand('sub_many_single', 'cus_many_single'));
    const { results } = await many([hand('sub_many_batch', 'cus_many_batch'), hand('sub_many_a1'), hand('sub_many_b1', 'cus_many_b')]);
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(Object.keys(results[0].result)).toEqual(['id']);
    const ids = results.map((r) => r.result.id as string);
    expect(new Set(ids).size).toBe(3);

    const fromBatch = await call('invoices.retrieve', {}, { id: ids[0]! });
    expect(fromBatch).toMatchObject({
      status: 'draft',
      subtotal: 3750,
      lines: { data: [{ amount: 3000 }, { amount: 700 }, { amount: 50 }] },
    });
    const a = idsOf(one, single.on);
    const b = idsOf(fromBatch, batched.on);
    expect(swap(fromBatch, b)).toEqual(swap(one, a));
    // The streams (domain events and the Stripe events they are announced as) match event for event.
    expect(await normalized(`invoice-${ids[0]}`, b)).toEqual(await normalized(`invoice-${one.id}`, a));
    for (const [i, id] of batched.on.entries()) {
      expect(await normalized(`invoiceitem-${id}`, b)).toEqual(await normalized(`invoiceitem-${single.on[i]}`, a));
      expect((await call('invoiceitems.retrieve', {}, { id })).invoice).toBe(ids[0]);
    }
    for (const id of [...single.off, ...batched.off]) expect((await call('invoiceitems.retrieve', {}, { id })).invoice).toBeNull();
    // The key is the invoice's own (recorded by its creation), with no stream of its own.
    const keysOf = await store().pool.query<{ id: string; idempotency_key: string }>(
      'SELECT id, idempotency_key FROM invoices WHERE id = ANY($1::text[]) ORDER BY id',
      [[ids[0], one.id]],
    );
    expect(Object.fromEntries(keysOf.rows.map((r) => [r.id, r.idempotency_key]))).toEqual({
      [ids[0]!]: `sub_many_batch:${T0}:subscription_cycle`,
      [one.id]: `sub_many_single:${T0}:subscription_cycle`,
    });
    expect(await count("SELECT count(*) AS n FROM events WHERE stream_id LIKE 'invoicekey-%'")).toBe(0);

    for (const id of ids) {
      const e = await eventFor('invoice.created', id);
      expect(e.object).toEqual(await call('invoices.retrieve', {}, { id }));
    }
    expect(received.filter((e) => e.type === 'invoice.created' && ids.includes(e.object.id))).toHaveLength(3);
  });

  it('a repeat of a batch answers the same ids and creates nothing', async () => {
    const batch = [hand('sub_many_r1'), hand('sub_many_r2', 'cus_many_b'), hand('sub_many_r3')];
    const first = (await many(batch)).results.map((r) => r.result.id);
    const events = await count('SELECT count(*) AS n FROM events');
    const again = await many(batch.map((r) => ({ ...r, lines: [rated(77)] })));
    expect(again.results.map((r) => r.result.id)).toEqual(first);
    expect(await count('SELECT count(*) AS n FROM events')).toBe(events);
    for (const s of ['sub_many_r1', 'sub_many_r2', 'sub_many_r3']) expect(await invoicesFor(s)).toBe(1);
    // The single op answers the invoice a batch made, rendered in full.
    expect(await svc.rpc.request<any>('invoicing', 'subscription_invoices.create', batch[1])).toMatchObject({
      id: first[1],
      object: 'invoice',
      subtotal: 3000,
    });
  });

  it('mixes new keys, keys made earlier (by either op) and a key repeated within the batch', async () => {
    const earlier = await svc.rpc.request<any>('invoicing', 'subscription_invoices.create', hand('sub_many_m0'));
    const [before] = (await many([hand('sub_many_m1')])).results;
    const { results } = await many([
      hand('sub_many_m2'),
      hand('sub_many_m0'),
      hand('sub_many_m2'),
      hand('sub_many_m1'),
      hand('sub_many_m3', 'cus_many_b'),
    ]);
    expect(results.every((r) => r.ok)).toBe(true);
    const ids = results.map((r) => r.result.id);
    expect(ids[1]).toBe(earlier.id);
    expect(ids[3]).toBe(before.result.id);
    expect(ids[2]).toBe(ids[0]);
    expect(new Set(ids).size).toBe(4);
    for (const s of ['sub_many_m0', 'sub_many_m1', 'sub_many_m2', 'sub_many_m3']) expect(await invoicesFor(s)).toBe(1);
    await eventFor('invoice.created', ids[0]);
    expect(received.filter((e) => e.type === 'invoice.created' && e.object.id === ids[0])).toHaveLength(1);
  });

  it('fails a malformed item alone', async () => {
    const { results } = await many([
      hand('sub_many_x1'),
      { ...hand('sub_many_x2'), currency: 'USD' },
      { idempotency_key: 'nope' },
      hand('sub_many_x3'),
    ]);
    expect(results[0]).toMatchObject({ ok: true });
    expect(results[1]).toMatchObject({
      ok: false,
      error: { status: 400, type: 'invalid_request_error', code: 'parameter_invalid', param: 'currency' },
    });
    expect(results[2]).toMatchObject({ ok: false, error: { status: 400, code: 'parameter_invalid' } });
    expect(results[3]).toMatchObject({ ok: true });
    expect(await invoicesFor('sub_many_x1')).toBe(1);
    expect(await invoicesFor('sub_many_x2')).toBe(0);
    expect(await invoicesFor('sub_many_x3')).toBe(1);
    // The malformed key was not claimed: fixed, it makes its invoice.
    const fixed = await many([hand('sub_many_x2')]);
    expect(fixed.results[0]).toMatchObject({ ok: true });
    expect(await invoicesFor('sub_many_x2')).toBe(1);
    await expect(many([])).rejects.toMatchObject({ status: 400, code: 'parameter_invalid' });
  });

  it('concurrent batches over the same keys make one invoice per key', async () => {
    const names = Array.from({ length: 6 }, (_v, i) => `sub_many_c${i}`);
    const batches = [names, [...names].reverse(), [names[3]!, names[0]!, names[5]!]].map((b) =>
      b.map((n) => hand(n, names.indexOf(n) % 2 ? 'cus_many_b' : 'cus_many_a')),
    );
    const replies = await Promise.all(batches.map((b) => many(b)));
    const byKey = new Map<string, Set<string>>();
    replies.forEach((r, i) =>
      r.results.forEach((res, j) => {
        expect(res.ok).toBe(true);
        const key = batches[i]![j]!.subscription;
        byKey.set(key, (byKey.get(key) ?? new Set()).add(res.result.id));
      }),
    );
    for (const n of names) {
      expect(byKey.get(n)!.size).toBe(1);
      expect(await invoicesFor(n)).toBe(1);
    }
  });

  it('many overlapping batches and single ops at once, in any order: one invoice per key, every call answered', async () => {
    const names = Array.from({ length: 12 }, (_v, i) => `sub_many_s${i}`);
    const customerOf = (n: string) => (names.indexOf(n) % 3 === 0 ? 'cus_many_b' : 'cus_many_a');
    // A fixed shuffle per batch (no Math.random: the same run every time).
    const shuffled = (seed: number) =>
      names
        .map((n, i) => ({ n, k: (i * 7919 + seed * 104_729) % 97 }))
        .sort((a, b) => a.k - b.k)
        .map((x) => x.n)
        .slice(0, 4 + (seed % 9));
    const batches = Array.from({ length: 8 }, (_v, i) => shuffled(i + 1));
    const calls: Promise<{ name: string; id: string }[]>[] = [
      ...batches.map(async (b) => {
        const { results } = await many(b.map((n) => hand(n, customerOf(n))));
        return results.map((r, j) => {
          expect(r.ok).toBe(true);
          return { name: b[j]!, id: r.result.id as string };
        });
      }),
      ...names.slice(0, 6).map(async (n) => {
        const inv = await svc.rpc.request<any>('invoicing', 'subscription_invoices.create', hand(n, customerOf(n)));
        return [{ name: n, id: inv.id as string }];
      }),
    ];
    const byKey = new Map<string, Set<string>>();
    for (const r of (await Promise.all(calls)).flat()) byKey.set(r.name, (byKey.get(r.name) ?? new Set()).add(r.id));
    for (const n of names) {
      if (!byKey.has(n)) continue;
      expect(byKey.get(n)!.size).toBe(1);
      expect(await invoicesFor(n)).toBe(1);
    }
    expect(byKey.size).toBeGreaterThanOrEqual(10);
  });
});

describe('invoice items a subscription change makes (issue 8 items 5 and 7)', () => {
  customers.cus_change = { id: 'cus_change', object: 'customer', test_clock: null, currency: 'usd' };
  const CHANGE = T0 + 15 * 86_400;
  const change = (over: Partial<CreateSubscriptionInvoiceRequest>): CreateSubscriptionInvoiceRequest =>
    subscriptionInvoice({
      customer: 'cus_change',
      subscription: 'sub_change',
      test_clock: null,
      billing_reason: 'subscription_update',
      period_start: CHANGE,
      period_end: CHANGE,
      created: CHANGE,
      lines: [],
      ...over,
    });
  const usage = { ...rated(2), id: 'ii_change_usage', period: { start: T0, end: CHANGE }, proration: false, credited_invoice_item: null };
  const proration = (id: string, amount: number) => ({
    ...rated(1),
    id,
    subscription_item: 'si_seat',
    price: 'price_seat',
    product: 'prod_seat',
    meter: null,
    amount,
    unit_amount_decimal: null,
    description: `${amount < 0 ? 'Unused' : 'Remaining'} time on 1 × Seat after 16 Jan 2026`,
    period: { start: CHANGE, end: PERIOD_END },
    proration: true,
    credited_invoice_item: null,
  });

  it('makes them pending (once), listed with pending=true, and the next subscription invoice takes them as invoice-item lines', async () => {
    const pendingOnly = change({
      idempotency_key: `sub_change:${CHANGE}:items:1`,
      pending_only: true,
      invoice_items: [usage, proration('ii_change_credit', -1500)],
    });
    for (let i = 0; i < 2; i++) {
      const { results } = await svc.rpc.request<{ results: any[] }>('invoicing', 'subscription_invoices.create_many', {
        requests: [pendingOnly],
      });
      expect(results).toEqual([{ ok: true, result: { id: 'ii_change_usage' } }]);
    }
    const pending = await call('invoiceitems.list', { customer: 'cus_change', pending: 'true' });
    expect(pending.data.map((i: any) => i.id).sort()).toEqual(['ii_change_credit', 'ii_change_usage']);
    expect(await call('invoiceitems.retrieve', {}, { id: 'ii_change_usage' })).toMatchObject({
      amount: 2000,
      invoice: null,
      proration: false,
      parent: { type: 'subscription_details', subscription_details: { subscription: 'sub_change', subscription_item: 'si_rental' } },
      pricing: { price_details: { price: 'price_hour' } },
      period: { start: T0, end: CHANGE },
    });
    expect(await call('invoiceitems.retrieve', {}, { id: 'ii_change_credit' })).toMatchObject({ amount: -1500, proration: true });

    const cycle = await svc.rpc.request<any>(
      'invoicing',
      'subscription_invoices.create',
      change({
        idempotency_key: `sub_change:${T0}:subscription_cycle`,
        billing_reason: 'subscription_cycle',
        period_start: T0,
        period_end: PERIOD_END,
        created: PERIOD_END,
        lines: [rated(1)],
      }),
    );
    expect(cycle.lines.data.map((l: any) => [l.parent.type, l.amount, l.parent.invoice_item_details?.proration ?? null])).toEqual([
      ['subscription_item_details', 1000, null],
      ['invoice_item_details', -1500, true],
      ['invoice_item_details', 2000, false],
    ]);
    expect(cycle.subtotal).toBe(1500);
    expect((await call('invoiceitems.list', { customer: 'cus_change', pending: 'true' })).data).toEqual([]);
    // credits apply to the usage item's line (a metered price), not to the proration
    const calls = creditCalls.length;
    await svc.app.get(Finalization).finalizeMany([{ id: cycle.id, at: PERIOD_END + 3600 }]);
    const asked = creditCalls.slice(calls).find((c) => c.invoice === cycle.id)!;
    // (the subscription line was re-rated by the stand-in rating; the invoice items keep their amounts)
    expect(asked.lines.find((l) => l.amount === 2000)?.metered).toBe(true);
    expect(asked.lines.find((l) => l.amount === -1500)?.metered).toBe(false);
  });

  it('always_invoice: the change’s items are invoiced at once (subscription_update), finalized, not re-rated', async () => {
    const rates = rateCalls.length;
    const inv = await svc.rpc.request<any>(
      'invoicing',
      'subscription_invoices.create',
      change({
        idempotency_key: `sub_change:${CHANGE}:subscription_update:ii_change_charge`,
        invoice_items: [proration('ii_change_charge', 4500)],
      }),
    );
    expect(inv).toMatchObject({ billing_reason: 'subscription_update', subtotal: 4500 });
    expect(inv.status).not.toBe('draft');
    expect(inv.lines.data[0].parent.invoice_item_details).toMatchObject({ invoice_item: 'ii_change_charge', proration: true });
    expect(rateCalls.length).toBe(rates);
  });
});

describe('one-off invoices and invoice items', () => {
  it('bills pending items on a manual invoice, finalizes it and records an out-of-band payment', async () => {
    const item = await call('invoiceitems.create', {
      customer: 'cus_plain',
      unit_amount_decimal: '33.335',
      quantity: '3',
      currency: 'usd',
      description: 'Credits pack',
    });
    expect(item).toMatchObject({
      object: 'invoiceitem',
      amount: 100,
      quantity: 3,
      invoice: null,
      pricing: { unit_amount_decimal: '33.335' },
      test_clock: null,
    });
    const other = await call('invoiceitems.create', { customer: 'cus_plain', pricing: { price: 'price_kit' }, quantity: '2' });
    expect(other).toMatchObject({ amount: 500, pricing: { price_details: { price: 'price_kit', product: 'prod_kit' } } });
    expect((await call('invoiceitems.list', { customer: 'cus_plain', pending: 'true' })).data.map((i: any) => i.id)).toEqual([
      other.id,
      item.id,
    ]);

    const excluded = await call('invoices.create', { customer: 'cus_plain' });
    expect(excluded).toMatchObject({
      status: 'draft',
      auto_advance: false,
      automatically_finalizes_at: null,
      billing_reason: 'manual',
      subtotal: 0,
      lines: { data: [] },
    });
    await call('invoices.del', {}, { id: excluded.id });
    await expect(call('invoices.retrieve', {}, { id: excluded.id })).rejects.toMatchObject({ code: 'resource_missing' });

    const inv = await call('invoices.create', {
      customer: 'cus_plain',
      pending_invoice_items_behavior: 'include',
      metadata: { grant_credits: '600' },
    });
    expect(inv).toMatchObject({ subtotal: 600, amount_due: 600, currency: 'usd', metadata: { grant_credits: '600' } });
    expect(inv.lines.data.map((l: any) => l.parent.invoice_item_details.invoice_item)).toEqual([item.id, other.id]);
    expect((await call('invoiceitems.retrieve', {}, { id: item.id })).invoice).toBe(inv.id);

    // Items can be added to the draft directly, and removed again.
    const extra = await call('invoiceitems.create', { customer: 'cus_plain', amount: '50', currency: 'usd', invoice: inv.id });
    expect((await call('invoices.retrieve', {}, { id: inv.id })).subtotal).toBe(650);
    await call('invoiceitems.del', {}, { id: extra.id });
    expect((await call('invoices.retrieve', {}, { id: inv.id })).subtotal).toBe(600);
    // The read model: the removed line's row is gone; each row's xmin tells whether it was rewritten.
    const pool = svc.app.get<PgEventStore>(EVENT_STORE).pool;
    const rows = async (table: 'invoices' | 'invoice_lines') =>
      (
        await pool.query<{ id: string; xmin: string }>(
          `SELECT id, xmin::text FROM ${table} WHERE ${table === 'invoices' ? 'id' : 'invoice'} = $1 ORDER BY id`,
          [inv.id],
        )
      ).rows;
    const linesBefore = await rows('invoice_lines');
    expect(linesBefore.map((r) => r.id).sort()).toEqual(inv.lines.data.map((l: any) => l.id).sort());
    const invoiceBefore = await rows('invoices');

    const calls = creditCalls.length;
    const open = await call('invoices.finalize', { auto_advance: 'false' }, { id: inv.id });
    expect(open).toMatchObject({ status: 'open', amount_due: 600 });
    expect(creditCalls.length).toBe(calls); // nothing metered: the ledger is not asked
    // Finalizing changed the invoice, not its lines: only the invoice row is written.
    expect(await rows('invoice_lines')).toEqual(linesBefore);
    expect((await rows('invoices'))[0]!.xmin).not.toBe(invoiceBefore[0]!.xmin);
    await expect(call('invoiceitems.del', {}, { id: item.id })).rejects.toMatchObject({ code: 'invoice_not_editable' });

    const paid = await call('invoices.pay', { paid_out_of_band: 'true' }, { id: inv.id });
    expect(paid).toMatchObject({ status: 'paid', amount_paid: 600, amount_remaining: 0 });
    expect(paid.status_transitions.paid_at).toBeGreaterThan(0);
    const e = await eventFor('invoice.paid', inv.id);
    expect(e.object).toMatchObject({ metadata: { grant_credits: '600' }, customer: 'cus_plain', status: 'paid' });
    await eventFor('invoice.payment_succeeded', inv.id);
    await eventFor('invoiceitem.created', item.id);
  });

  it('finalizes an auto-advancing draft with nothing due as paid, via the real-time scheduler', async () => {
    const inv = await call('invoices.create', { customer: 'cus_plain', auto_advance: 'true', automatically_finalizes_at: '1' });
    expect(inv).toMatchObject({ auto_advance: true, automatically_finalizes_at: 1 });
    const done = await eventually(async () => {
      const x = await call('invoices.retrieve', {}, { id: inv.id });
      return x.status === 'draft' ? undefined : x;
    });
    expect(done).toMatchObject({ status: 'paid', amount_due: 0 });
    await eventFor('invoice.paid', inv.id);
  });

  it('marks uncollectible, then paid', async () => {
    const inv = await call('invoices.create', { customer: 'cus_plain' });
    await call('invoiceitems.create', { customer: 'cus_plain', amount: '1234', currency: 'usd', invoice: inv.id });
    await expect(call('invoices.void', {}, { id: inv.id })).rejects.toMatchObject({ code: 'status_transition_invalid' });
    await call('invoices.finalize', {}, { id: inv.id });
    expect(await call('invoices.mark_uncollectible', {}, { id: inv.id })).toMatchObject({ status: 'uncollectible' });
    await eventFor('invoice.marked_uncollectible', inv.id);
    expect(await call('invoices.pay', {}, { id: inv.id })).toMatchObject({ status: 'paid', amount_paid: 1234 });
  });

  it('pages through lines and invoices', async () => {
    const inv = await call('invoices.create', { customer: 'cus_plain', metadata: { k: 'v' } });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++)
      ids.push((await call('invoiceitems.create', { customer: 'cus_plain', amount: String(i + 1), currency: 'usd', invoice: inv.id })).id);
    const full = await call('invoices.retrieve', {}, { id: inv.id });
    expect(full.lines).toMatchObject({ has_more: true, url: `/v1/invoices/${inv.id}/lines` });
    expect(full.lines.data).toHaveLength(10);
    expect(full.subtotal).toBe(78);
    const p1 = await call('invoices.lines', { limit: '5' }, { id: inv.id });
    const p2 = await call('invoices.lines', { limit: '10', starting_after: p1.data.at(-1).id }, { id: inv.id });
    expect(p1.has_more).toBe(true);
    expect(p2.has_more).toBe(false);
    expect([...p1.data, ...p2.data].map((l: any) => l.parent.invoice_item_details.invoice_item)).toEqual(ids);

    const upd = await call('invoices.update', { metadata: { k: '', a: 'b' }, description: 'Kit' }, { id: inv.id });
    expect(upd).toMatchObject({ metadata: { a: 'b' }, description: 'Kit' });
    const updated = await eventually(async () =>
      received.find((e) => e.type === 'invoice.updated' && e.object.id === inv.id && e.object.description === 'Kit'),
    );
    expect(updated.previous).toEqual({ metadata: { k: 'v' }, description: null });

    const list = await call('invoices.list', { customer: 'cus_plain', limit: '2' });
    expect(list).toMatchObject({ object: 'list', has_more: true, url: '/v1/invoices' });
    expect(list.data[0].id).toBe(inv.id);
    const drafts = await call('invoices.list', { customer: 'cus_plain', status: 'draft' });
    expect(drafts.data.map((i: any) => i.id)).toEqual([inv.id]);
  });

  it('edits drafts: auto_advance schedules finalization, item changes reach the line, deleting a draft deletes its items', async () => {
    const inv = await call('invoices.create', { customer: 'cus_plain' });
    const item = await call('invoiceitems.create', {
      customer: 'cus_plain',
      unit_amount_decimal: '10',
      quantity: '2',
      currency: 'usd',
      invoice: inv.id,
    });
    const changed = await call('invoiceitems.update', { quantity: '5', description: 'Five' }, { id: item.id });
    expect(changed).toMatchObject({ amount: 50, quantity: 5, description: 'Five', invoice: inv.id });
    const withLine = await call('invoices.retrieve', {}, { id: inv.id });
    expect(withLine.lines.data[0]).toMatchObject({ amount: 50, quantity: 5, description: 'Five' });
    expect(withLine.subtotal).toBe(50);

    const later = await call('invoices.update', { auto_advance: 'true' }, { id: inv.id });
    expect(later.auto_advance).toBe(true);
    expect(later.automatically_finalizes_at).toBeGreaterThan(later.created);
    expect(await call('invoices.update', { auto_advance: 'false' }, { id: inv.id })).toMatchObject({
      auto_advance: false,
      automatically_finalizes_at: null,
    });

    await call('invoices.del', {}, { id: inv.id });
    await expect(call('invoiceitems.retrieve', {}, { id: item.id })).rejects.toMatchObject({ code: 'resource_missing' });
    await eventFor('invoice.deleted', inv.id);
    await eventFor('invoiceitem.deleted', item.id);
  });

  it('sends invoices collected by sending them, due after days_until_due', async () => {
    await expect(call('invoices.create', { customer: 'cus_plain', collection_method: 'send_invoice' })).rejects.toMatchObject({
      param: 'days_until_due',
    });
    const inv = await call('invoices.create', { customer: 'cus_plain', collection_method: 'send_invoice', days_until_due: '30' });
    expect(inv.due_date).toBe(inv.created + 30 * 86_400);
    await call('invoiceitems.create', { customer: 'cus_plain', amount: '700', currency: 'usd', invoice: inv.id });
    await expect(call('invoices.send', {}, { id: inv.id })).rejects.toMatchObject({ code: 'status_transition_invalid' });
    await call('invoices.finalize', {}, { id: inv.id });
    expect(await call('invoices.send', {}, { id: inv.id })).toMatchObject({ status: 'open', collection_method: 'send_invoice' });
    await eventFor('invoice.sent', inv.id);
  });

  it('rebuilds its read models from the event store', async () => {
    const store = svc.app.get<PgEventStore>(EVENT_STORE);
    const snapshot = async () =>
      (
        await store.pool.query(
          `SELECT 'i' AS k, id, object FROM invoices UNION ALL SELECT 'l', id, object FROM invoice_lines
           UNION ALL SELECT 'ii', id, object FROM invoice_items
           UNION ALL SELECT 'n', customer, json_build_array(prefix, last) FROM invoice_number_counters ORDER BY 1, 2`,
        )
      ).rows;
    const before = await snapshot();
    expect(before.length).toBeGreaterThan(10);
    await rebuildReadModels(store);
    expect(await snapshot()).toEqual(before);
  });
});
