import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import type { ApiRequest, ApplyCreditsReply, ApplyCreditsRequest, Stripe } from '@meterflow/contracts';
import { DomainError, newId } from '@meterflow/kernel';
import { startServiceForTest, type ServiceUnderTest } from '@meterflow/service-kit';
import {
  connectTestNats,
  createTestDatabase,
  deleteNamespaceStreams,
  eventually,
  testNamespace,
  type TestDatabase,
} from '@meterflow/testing';
import { creditLedgerDefinition } from '../src/credit-ledger.definition.js';
import { CreditLedgerModule } from '../src/credit-ledger.module.js';
import { rebuild } from '../src/rebuild.js';

/**
 * The credit ledger in-process against real Postgres and NATS. Rating is stood in for by a real
 * NATS responder answering `customers.retrieve` and `test_clocks.retrieve` on the namespace.
 */
let db: TestDatabase;
let ns: string;
let nc: NatsConnection;
let svc: ServiceUnderTest;
const subs: Subscription[] = [];
const received: { type: string; id: string; object: Record<string, unknown> }[] = [];

const CUSTOMERS: Record<string, { test_clock: string | null }> = {
  cus_rt: { test_clock: null },
  cus_fund: { test_clock: null },
  cus_clock: { test_clock: 'clock_1' },
};
const clock = { frozen_time: 1_800_000_000 };

function respondAs(subject: string, answer: (id: string) => unknown) {
  subs.push(
    nc.subscribe(subject, {
      callback: (_err, msg) => {
        const req = msg.json<ApiRequest>();
        const id = req.path.id ?? '';
        const result = answer(id);
        msg.respond(
          JSON.stringify(
            result === undefined
              ? {
                  ok: false,
                  error: {
                    type: 'invalid_request_error',
                    code: 'resource_missing',
                    message: `No such customer: '${id}'`,
                    param: 'id',
                    status: 404,
                  },
                }
              : { ok: true, result },
          ),
        );
      },
    }),
  );
}

const api = <T>(op: string, params: Record<string, unknown> = {}, path: Record<string, string> = {}) =>
  svc.rpc.request<T>('credit-ledger', op, { params, path, requestId: newId('request'), livemode: false } satisfies ApiRequest);

/** Form-encoded params, as the gateway hands them over (strings). */
const grantParams = (customer: string, value: number, extra: Record<string, unknown> = {}) => ({
  customer,
  amount: { type: 'monetary', monetary: { currency: 'usd', value: String(value) } },
  applicability_config: { scope: { price_type: 'metered' } },
  category: 'paid',
  ...extra,
});

const summary = (customer: string) =>
  api<Stripe.Billing.CreditBalanceSummary>('credit_balance_summary.retrieve', {
    customer,
    filter: { type: 'applicability_scope', applicability_scope: { price_type: 'metered' } },
  });
const transactions = (customer: string, extra: Record<string, unknown> = {}) =>
  api<{ data: Stripe.Billing.CreditBalanceTransaction[]; has_more: boolean }>('credit_balance_transactions.list', {
    customer,
    limit: '100',
    ...extra,
  });

const apply = (r: Omit<ApplyCreditsRequest, 'currency' | 'test_clock'>) =>
  svc.rpc.request<ApplyCreditsReply>('credit-ledger', 'credits.apply', {
    currency: 'usd',
    test_clock: null,
    ...r,
  } satisfies ApplyCreditsRequest);

async function publishInvoiceEvent(type: string, invoice: Record<string, unknown>) {
  const js = jetstream(nc);
  const id = newId('event');
  const evt = { id, object: 'event', type, created: Math.floor(Date.now() / 1000), data: { object: invoice }, livemode: false };
  await js.publish(svc.names.eventSubject(type), JSON.stringify(evt), { msgID: id });
  return id;
}

beforeAll(async () => {
  db = await createTestDatabase();
  ns = testNamespace();
  nc = await connectTestNats();
  const names = (await import('@meterflow/contracts')).natsNames(ns);
  respondAs(names.rpcSubject('rating', 'customers.retrieve'), (id) =>
    CUSTOMERS[id] ? { id, object: 'customer', ...CUSTOMERS[id] } : undefined,
  );
  respondAs(names.rpcSubject('rating', 'test_clocks.retrieve'), (id) =>
    id === 'clock_1' ? { id, object: 'test_helpers.test_clock', ...clock } : undefined,
  );
  subs.push(
    nc.subscribe(names.eventSubject('>'), {
      callback: (_e, msg) => {
        const e = msg.json<{ id: string; type: string; data: { object: Record<string, unknown> } }>();
        received.push({ type: e.type, id: e.id, object: e.data.object });
      },
    }),
  );
  await nc.flush();
  svc = await startServiceForTest(creditLedgerDefinition, CreditLedgerModule, {
    databaseUrl: db.url,
    namespace: ns,
    env: { CREDIT_LEDGER_SCHEDULER_INTERVAL_MS: '200' },
  });
});

afterAll(async () => {
  await svc?.close();
  for (const s of subs) s.unsubscribe();
  if (nc) {
    await deleteNamespaceStreams(nc, ns).catch(() => {});
    await nc.drain();
  }
  await db?.drop();
});

describe('credit grants over NATS request/reply', () => {
  let grant: Stripe.Billing.CreditGrant;

  it('creates a grant, effective now, and records credits_granted', async () => {
    grant = await api<Stripe.Billing.CreditGrant>(
      'credit_grants.create',
      grantParams('cus_rt', 1000, { name: 'Prepaid', metadata: { k: 'v' } }),
    );
    expect(grant).toMatchObject({
      object: 'billing.credit_grant',
      amount: { type: 'monetary', monetary: { currency: 'usd', value: 1000 } },
      applicability_config: { scope: { price_type: 'metered' } },
      category: 'paid',
      customer: 'cus_rt',
      expires_at: null,
      priority: 50,
      metadata: { k: 'v' },
      name: 'Prepaid',
      test_clock: null,
      voided_at: null,
    });
    expect(grant.id).toMatch(/^credgr_/);
    expect(await api('credit_grants.retrieve', {}, { id: grant.id })).toEqual(grant);
    const list = await api<{ data: Stripe.Billing.CreditGrant[] }>('credit_grants.list', { customer: 'cus_rt' });
    expect(list.data.map((g) => g.id)).toEqual([grant.id]);
    const txns = await transactions('cus_rt');
    expect(txns.data).toHaveLength(1);
    expect(txns.data[0]).toMatchObject({
      type: 'credit',
      credit: { type: 'credits_granted', amount: { monetary: { value: 1000 } } },
      credit_grant: grant.id,
    });
    expect((await summary('cus_rt')).balances).toEqual([
      {
        available_balance: { type: 'monetary', monetary: { currency: 'usd', value: 1000 } },
        ledger_balance: { type: 'monetary', monetary: { currency: 'usd', value: 1000 } },
      },
    ]);
  });

  it('publishes billing.credit_grant.created and billing.credit_balance_transaction.created', async () => {
    await eventually(async () =>
      received.some((e) => e.type === 'billing.credit_grant.created' && e.object.id === grant.id) ? true : undefined,
    );
    await eventually(async () =>
      received.some((e) => e.type === 'billing.credit_balance_transaction.created' && e.object.credit_grant === grant.id)
        ? true
        : undefined,
    );
  });

  it('answers Stripe errors: unknown customer, unknown grant, bad params', async () => {
    await expect(api('credit_grants.create', grantParams('cus_nobody', 1000))).rejects.toMatchObject({
      code: 'resource_missing',
      status: 404,
      param: 'customer',
    });
    await expect(api('credit_grants.retrieve', {}, { id: 'credgr_nope' })).rejects.toMatchObject({ code: 'resource_missing', status: 404 });
    await expect(api('credit_grants.create', grantParams('cus_rt', 0))).rejects.toMatchObject({ param: 'amount[monetary][value]' });
    await expect(api('credit_grants.create', { ...grantParams('cus_rt', 5), bogus: '1' })).rejects.toMatchObject({
      code: 'parameter_unknown',
    });
    await expect(api('credit_balance_transactions.list', {})).rejects.toBeInstanceOf(DomainError);
  });

  it('credits.apply pays the metered line once, and a repeat returns the same applications', async () => {
    const req = {
      invoice: 'in_acc',
      customer: 'cus_rt',
      at: Math.floor(Date.now() / 1000),
      lines: [
        { id: 'il_fixed', amount: 500, price: 'price_fixed', metered: false },
        { id: 'il_usage', amount: 3000, price: 'price_minutes', metered: true },
      ],
    };
    const first = await apply(req);
    expect(first.applications).toEqual([
      { line: 'il_usage', amount: 1000, credit_grant: grant.id, credit_balance_transaction: expect.stringMatching(/^cbtxn_/) },
    ]);
    const again = await apply(req);
    expect(again).toEqual(first);
    expect(await apply({ ...req, invoice: 'in_other_customer', customer: 'cus_without_grants' })).toEqual({ applications: [] });
    const [s, txns] = await Promise.all([summary('cus_rt'), transactions('cus_rt')]);
    expect(s.balances[0]).toMatchObject({ available_balance: { monetary: { value: 0 } }, ledger_balance: { monetary: { value: 0 } } });
    expect(txns.data.map((t) => t.credit?.type ?? t.debit?.type)).toEqual(['credits_applied', 'credits_granted']);
    expect(txns.data[0]).toMatchObject({
      id: first.applications[0]!.credit_balance_transaction,
      debit: { credits_applied: { invoice: 'in_acc', invoice_line_item: 'il_usage' } },
    });
  });

  it('invoice.voided on MF_EVENTS reinstates the credit, once even when redelivered', async () => {
    const invoice = {
      id: 'in_acc',
      object: 'invoice',
      customer: 'cus_rt',
      status: 'void',
      status_transitions: { voided_at: Math.floor(Date.now() / 1000) },
    };
    await publishInvoiceEvent('invoice.voided', invoice);
    const back = await eventually(async () => {
      const t = await transactions('cus_rt');
      return t.data.find((x) => x.credit?.type === 'credits_application_invoice_voided');
    });
    expect(back.credit).toMatchObject({
      amount: { monetary: { value: 1000 } },
      credits_application_invoice_voided: { invoice: 'in_acc', invoice_line_item: 'il_usage' },
    });
    await publishInvoiceEvent('invoice.voided', invoice); // a second copy with another event id
    await new Promise((r) => setTimeout(r, 500));
    expect((await transactions('cus_rt')).data).toHaveLength(3);
    expect((await summary('cus_rt')).balances[0]).toMatchObject({ available_balance: { monetary: { value: 1000 } } });
  });

  it('updates metadata and expiry, expires and voids', async () => {
    const g = await api<Stripe.Billing.CreditGrant>(
      'credit_grants.create',
      grantParams('cus_rt', 300, { metadata: { a: '1' }, category: 'promotional', priority: '10' }),
    );
    const far = Math.floor(Date.now() / 1000) + 86_400;
    const u = await api<Stripe.Billing.CreditGrant>(
      'credit_grants.update',
      { expires_at: String(far), metadata: { a: '', b: '2' } },
      { id: g.id },
    );
    expect(u).toMatchObject({ expires_at: far, metadata: { b: '2' } });
    const never = await api<Stripe.Billing.CreditGrant>('credit_grants.update', { expires_at: '' }, { id: g.id });
    expect(never.expires_at).toBeNull();
    await expect(api('credit_grants.update', { amount: '5' }, { id: g.id })).rejects.toMatchObject({ code: 'parameter_unknown' });
    const expired = await api<Stripe.Billing.CreditGrant>('credit_grants.expire', {}, { id: g.id });
    expect(expired.expires_at).toBeGreaterThan(0);
    await expect(api('credit_grants.expire', {}, { id: g.id })).rejects.toMatchObject({ code: 'credit_grant_expired' });
    const t = await transactions('cus_rt', { credit_grant: g.id });
    expect(t.data.map((x) => x.debit?.type ?? x.credit?.type)).toEqual(['credits_expired', 'credits_granted']);

    const v = await api<Stripe.Billing.CreditGrant>('credit_grants.create', grantParams('cus_rt', 200));
    const voided = await api<Stripe.Billing.CreditGrant>('credit_grants.void', {}, { id: v.id });
    expect(voided.voided_at).toBeGreaterThan(0);
    const vt = await transactions('cus_rt', { credit_grant: v.id });
    expect(vt.data[0]).toMatchObject({ debit: { type: 'credits_voided', amount: { monetary: { value: 200 } } } });
    await eventually(async () =>
      received.some((e) => e.type === 'billing.credit_grant.updated' && e.object.id === v.id && e.object.voided_at) ? true : undefined,
    );
  });

  it('concurrent credits.apply for one invoice applies once and answers the same', async () => {
    const g = await api<Stripe.Billing.CreditGrant>('credit_grants.create', grantParams('cus_rt', 400, { priority: '0' }));
    const req = {
      invoice: 'in_race',
      customer: 'cus_rt',
      at: Math.floor(Date.now() / 1000),
      lines: [{ id: 'il_race', amount: 250, price: 'price_m', metered: true }],
    };
    const answers = await Promise.all([apply(req), apply(req), apply(req), apply(req)]);
    for (const a of answers) expect(a).toEqual(answers[0]);
    expect(answers[0]!.applications).toEqual([expect.objectContaining({ credit_grant: g.id, amount: 250 })]);
    const t = await transactions('cus_rt', { credit_grant: g.id });
    expect(t.data.map((x) => x.debit?.type ?? x.credit?.type)).toEqual(['credits_applied', 'credits_granted']);
    expect((await summary('cus_rt')).balances[0]).toMatchObject({ available_balance: { monetary: { value: 1000 + 150 } } });
    await api('credit_grants.void', {}, { id: g.id });
  });

  it('paginates transactions newest first', async () => {
    const all = (await transactions('cus_rt')).data.map((t) => t.id);
    const p1 = await transactions('cus_rt', { limit: '2' });
    expect(p1.has_more).toBe(true);
    const p2 = await transactions('cus_rt', { limit: '2', starting_after: p1.data[1]!.id });
    expect([...p1.data, ...p2.data].map((t) => t.id)).toEqual(all.slice(0, 4));
    expect([...all].sort().reverse()).toEqual(all);
  });

  it('a future grant becomes effective by the real-time scheduler', async () => {
    // At least one whole second ahead: `+ 1` alone can be a millisecond away, and then the
    // scheduler may have made the grant effective before the first read.
    const soon = Math.floor(Date.now() / 1000) + 2;
    const g = await api<Stripe.Billing.CreditGrant>('credit_grants.create', grantParams('cus_rt', 50, { effective_at: String(soon) }));
    expect((await transactions('cus_rt', { credit_grant: g.id })).data).toHaveLength(0);
    await eventually(async () => ((await transactions('cus_rt', { credit_grant: g.id })).data.length === 1 ? true : undefined), 7000);
  });
});

describe('funding from a paid invoice', () => {
  it('invoice.paid with meterflow_credit_grant metadata creates one grant', async () => {
    const invoice = {
      id: 'in_purchase',
      object: 'invoice',
      number: 'MF-1',
      customer: 'cus_fund',
      currency: 'usd',
      amount_paid: 2500,
      test_clock: null,
      metadata: { meterflow_credit_grant: 'true', meterflow_credit_grant_name: 'Top-up' },
      status_transitions: { paid_at: Math.floor(Date.now() / 1000) },
    };
    await publishInvoiceEvent('invoice.paid', invoice);
    await publishInvoiceEvent('invoice.paid', invoice);
    const list = await eventually(async () => {
      const l = await api<{ data: Stripe.Billing.CreditGrant[] }>('credit_grants.list', { customer: 'cus_fund' });
      return l.data.length ? l : undefined;
    });
    await new Promise((r) => setTimeout(r, 500));
    const after = await api<{ data: Stripe.Billing.CreditGrant[] }>('credit_grants.list', { customer: 'cus_fund' });
    expect(after.data).toHaveLength(1);
    expect(list.data[0]).toMatchObject({
      name: 'Top-up',
      amount: { monetary: { value: 2500 } },
      category: 'paid',
      metadata: { meterflow_funding_invoice: 'in_purchase' },
    });
    expect((await summary('cus_fund')).balances[0]).toMatchObject({ available_balance: { monetary: { value: 2500 } } });
  });
});

describe('funding: invalid metadata', () => {
  it('is dead-lettered with the reason, and no grant is made', async () => {
    const invoice = {
      id: 'in_bad',
      object: 'invoice',
      customer: 'cus_fund',
      currency: 'usd',
      amount_paid: 100,
      metadata: { meterflow_credit_grant: 'true', meterflow_credit_grant_category: 'gift' },
      status_transitions: { paid_at: Math.floor(Date.now() / 1000) },
    };
    const eventId = await publishInvoiceEvent('invoice.paid', invoice);
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const row = await eventually(async () => {
        const r = await client.query<{ reason: string; message_id: string }>('SELECT reason, message_id FROM credit_ledger.dead_letters');
        return r.rows.find((x) => x.message_id === eventId);
      });
      expect(row.reason).toMatch(/meterflow_credit_grant_category/);
    } finally {
      await client.end();
    }
    const l = await api<{ data: Stripe.Billing.CreditGrant[] }>('credit_grants.list', { customer: 'cus_fund' });
    expect(l.data.every((g) => g.metadata.meterflow_funding_invoice !== 'in_bad')).toBe(true);
  });
});

describe('test clocks', () => {
  it('reports the next effective/expiry time and does the work when advanced', async () => {
    const t0 = clock.frozen_time;
    const g = await api<Stripe.Billing.CreditGrant>(
      'credit_grants.create',
      grantParams('cus_clock', 700, { effective_at: String(t0 + 100), expires_at: String(t0 + 1000) }),
    );
    expect(g.test_clock).toBe('clock_1');
    expect(g.created).toBe(t0);
    const due = (after: number, upTo: number) =>
      svc.rpc.request<{ at: number | null }>('credit-ledger', 'clock.next_due', { clock: 'clock_1', after, upTo });
    expect(await due(t0, t0 + 5000)).toEqual({ at: t0 + 100 });
    expect(await due(t0, t0 + 50)).toEqual({ at: null });
    clock.frozen_time = t0 + 100;
    await svc.rpc.request('credit-ledger', 'clock.advance_to', { clock: 'clock_1', to: t0 + 100 });
    expect((await summary('cus_clock')).balances[0]).toMatchObject({ ledger_balance: { monetary: { value: 700 } } });
    expect(await due(t0 + 100, t0 + 5000)).toEqual({ at: t0 + 1000 });
    const applied = await apply({
      invoice: 'in_clock',
      customer: 'cus_clock',
      at: t0 + 500,
      lines: [{ id: 'il_c', amount: 200, price: 'price_m', metered: true }],
    });
    expect(applied.applications[0]?.amount).toBe(200);
    clock.frozen_time = t0 + 1000;
    await svc.rpc.request('credit-ledger', 'clock.advance_to', { clock: 'clock_1', to: t0 + 1000 });
    const txns = await transactions('cus_clock');
    expect(txns.data.map((t) => [t.credit?.type ?? t.debit?.type, (t.credit ?? t.debit)!.amount.monetary!.value, t.test_clock])).toEqual([
      ['credits_expired', 500, 'clock_1'],
      ['credits_applied', 200, 'clock_1'],
      ['credits_granted', 700, 'clock_1'],
    ]);
    expect(await due(t0 + 1000, t0 + 5000)).toEqual({ at: null });
  });
});

describe('rebuild', () => {
  it('projecting some grants again restores their rows and balances; an id named twice changes nothing', async () => {
    const pg = (await import('pg')).default;
    const { projectGrants } = await import('../src/adapters/projections/ledger.projection.js');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('SET search_path = credit_ledger');
      const rows = async () => (await client.query('SELECT * FROM credit_grants ORDER BY id')).rows;
      const before = await rows();
      const ids = before.map((r) => r.id as string);
      expect(before.some((r) => Number(r.ledger_balance) > 0)).toBe(true);
      await projectGrants(client, [...ids, ...ids]);
      expect(await rows()).toEqual(before);
      // Balances come from the postings alone: wiped, they are derived again.
      await client.query('UPDATE credit_grants SET ledger_balance = 0, granted = false');
      await projectGrants(client, [...ids].reverse());
      expect(await rows()).toEqual(before);
    } finally {
      await client.end();
    }
  });

  it('drops the read models and replays the event store: balances and transactions are equal', async () => {
    const customers = Object.keys(CUSTOMERS);
    const snapshot = async () => {
      const out: unknown[] = [];
      for (const c of customers) {
        out.push(await summary(c), await transactions(c), await api('credit_grants.list', { customer: c, limit: '100' }));
      }
      return out;
    };
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const tables = async () => [
      (await client.query('SELECT * FROM credit_ledger.credit_grants ORDER BY id')).rows,
      (await client.query('SELECT * FROM credit_ledger.credit_balance_transactions ORDER BY id')).rows,
    ];
    // The postings table is rebuilt as a new table and swapped in: same columns, keys, indexes, privileges.
    const shape = async () => [
      (
        await client.query(
          `SELECT attname, format_type(atttypid, atttypmod), attnotnull, attcollation FROM pg_attribute
           WHERE attrelid = 'credit_ledger.credit_balance_transactions'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
        )
      ).rows,
      (
        await client.query(
          `SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
           WHERE conrelid = 'credit_ledger.credit_balance_transactions'::regclass ORDER BY conname`,
        )
      ).rows,
      (await client.query(`SELECT indexdef FROM pg_indexes WHERE tablename = 'credit_balance_transactions' ORDER BY indexname`)).rows,
      (await client.query(`SELECT relacl::text FROM pg_class WHERE oid = 'credit_ledger.credit_balance_transactions'::regclass`)).rows,
    ];
    try {
      await client.query('GRANT SELECT ON credit_ledger.credit_balance_transactions TO PUBLIC');
      const before = await snapshot();
      const rowsBefore = await tables();
      const shapeBefore = await shape();
      const r = await rebuild(db.url);
      expect(r.transactions).toBeGreaterThan(5);
      expect(r.grants).toBe(rowsBefore[0]!.length);
      expect(await snapshot()).toEqual(before);
      expect(await tables()).toEqual(rowsBefore);
      expect(await shape()).toEqual(shapeBefore);
      // The live path projects into the swapped-in table.
      await api('credit_grants.create', grantParams(customers[0]!, 123));
      expect((await tables())[1]!.length).toBe(rowsBefore[1]!.length + 1);
      await client.query('REVOKE SELECT ON credit_ledger.credit_balance_transactions FROM PUBLIC');
    } finally {
      await client.end();
    }
  });
});
