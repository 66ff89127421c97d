import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
// @ts-expect-error plain ESM script shared with `pnpm start`
import { startStack } from '../../scripts/stack.mjs';
import { openTestInfra, type TestInfra } from '@meterflow/testing';

/*
 * Scaling out (docs/architecture.md): two processes of invoicing and two of credit-ledger on one
 * database and NATS namespace (a stack of its own beside the suite's), the clock's close split
 * into four parts by customer over invoicing's queue group. The close must be exact to the cent
 * and, read from the event stores, no invoice finalized twice, no number used twice, no
 * invoice's credits answered twice, no grant drawn beyond its amount. Every third customer has
 * two subscriptions drawing on one grant (its two invoices are in the same part, in turn).
 */
const T0 = Date.UTC(2026, 0, 1) / 1000;
const TARGET = Date.UTC(2026, 1, 1) / 1000 + 3600 + 60;
const KEY = 'sk_test_replicas';
const CUSTOMERS = 24;

type Stack = { apiUrl: string; stop(): Promise<void> };
let stack: Stack;
let infra: TestInfra;
let stripe: Stripe;

beforeAll(async () => {
  infra = await openTestInfra({ poolMax: 2 });
  stack = await startStack({
    databaseUrl: infra.db.url,
    portOffset: 'free',
    build: false,
    quiet: true,
    replicas: { invoicing: 2, 'credit-ledger': 2 },
    env: {
      MF_NAMESPACE: infra.ns,
      MF_API_KEYS: KEY,
      LOG_LEVEL: 'warn',
      OTEL_SDK_DISABLED: 'true',
      // Each replica's relay renders from its own units' memory or from the stream (the other's):
      // both, compared (a difference stops that relay, and the events below never come).
      MF_RENDER_CHECK: 'true',
      INVOICE_FINALIZATION_GRACE_SECONDS: '3600',
      INVOICE_CLOSE_PARTITIONS: '4',
      // Small batches: several batches per part, a customer's two invoices maybe in different ones.
      INVOICE_FINALIZE_BATCH_SIZE: '5',
    },
  });
  const api = new URL(stack.apiUrl);
  stripe = new Stripe(KEY, { host: api.hostname, port: Number(api.port), protocol: 'http', maxNetworkRetries: 2, telemetry: false });
});

afterAll(async () => {
  await stack?.stop();
  await infra?.close();
});

const q = { query: <R extends object>(sql: string) => infra.pool.query<R>(sql) };

/** Read from the event stores: what replicas must never do twice or beyond. */
async function exactlyOnce() {
  const { rows } = await q.query<{ finalized_twice: number; number_twice: number; credited_twice: number; overdrawn: number }>(`
    SELECT (SELECT count(*) FROM (SELECT stream_id FROM invoicing.events WHERE type = 'InvoiceFinalized'
                                   GROUP BY stream_id HAVING count(*) > 1) x)::int AS finalized_twice,
           (SELECT count(*) FROM (SELECT data->>'number' FROM invoicing.events WHERE type = 'InvoiceFinalized'
                                   GROUP BY 1 HAVING count(*) > 1) x)::int AS number_twice,
           (SELECT count(*) FROM (SELECT data->>'invoice' FROM credit_ledger.events WHERE type = 'LedgerInvoiceCreditsApplied'
                                   GROUP BY 1 HAVING count(*) > 1) x)::int AS credited_twice,
           (SELECT count(*) FROM credit_ledger.credit_grants g
             WHERE g.ledger_balance < 0
                OR (SELECT coalesce(sum(t.amount), 0) FROM credit_ledger.credit_balance_transactions t
                     WHERE t.credit_grant = g.id AND t.reason = 'credits_applied') > g.amount)::int AS overdrawn`);
  return rows[0];
}

describe('two replicas of invoicing and of credit-ledger', () => {
  it('close a test clock exactly: every total to the cent, nothing finalized or credited twice, no grant overdrawn', async () => {
    const meter = await stripe.billing.meters.create({
      display_name: 'Minutes',
      event_name: `minutes_${randomBytes(3).toString('hex')}`,
      default_aggregation: { formula: 'sum' },
    });
    const price = await stripe.prices.create({
      currency: 'usd',
      unit_amount: 1000,
      product_data: { name: 'Car rental' },
      recurring: { interval: 'month', usage_type: 'metered', meter: meter.id },
      transform_quantity: { divide_by: 60, round: 'up' },
    });
    const clock = await stripe.testHelpers.testClocks.create({ frozen_time: T0, name: 'replicas' });
    const customers: string[] = [];
    for (let i = 0; i < CUSTOMERS; i++) {
      const c = await stripe.customers.create({ test_clock: clock.id, name: `renter ${i}` });
      customers.push(c.id);
      await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }] });
      if (i % 3 === 0) await stripe.subscriptions.create({ customer: c.id, items: [{ price: price.id }] });
      if (i % 2 === 0)
        await stripe.billing.creditGrants.create({
          customer: c.id,
          category: 'paid',
          amount: { type: 'monetary', monetary: { currency: 'usd', value: 1000 } },
          applicability_config: { scope: { price_type: 'metered' } },
        });
    }
    // 150 minutes each (3,000 cents on each subscription's invoice), over NATS as producers send it.
    const events = customers.map((c) => ({
      event_name: meter.event_name,
      payload: { stripe_customer_id: c, value: '150' },
      identifier: `u-${c}`,
      timestamp: new Date(T0 * 1000).toISOString(),
    }));
    await jetstream(infra.nc).publish(`${infra.ns}.mf.ingest.meter_events`, JSON.stringify({ events }));
    for (let seen = ''; seen !== String(CUSTOMERS * 150); await new Promise((r) => setTimeout(r, 200)))
      seen = (await q.query<{ v: string }>(`SELECT coalesce(sum(sum), 0)::text AS v FROM ingestion.usage_rollups`)).rows[0]!.v;

    await stripe.testHelpers.testClocks.advance(clock.id, { frozen_time: TARGET });
    for (;;) {
      const c = await stripe.testHelpers.testClocks.retrieve(clock.id);
      expect(c.status).not.toBe('internal_failure');
      if (c.status === 'ready' && c.frozen_time === TARGET) break;
      await new Promise((r) => setTimeout(r, 250));
    }

    const subscriptions = CUSTOMERS + Math.ceil(CUSTOMERS / 3);
    const granted = Math.ceil(CUSTOMERS / 2);
    const { rows } = await q.query(`
      SELECT count(*)::int AS invoices, count(*) FILTER (WHERE status = 'open')::int AS open,
             coalesce(sum((object->>'subtotal')::bigint), 0)::int AS subtotal,
             coalesce(sum(total), 0)::int AS total, coalesce(sum(amount_due), 0)::int AS due
        FROM invoicing.invoices WHERE subscription IS NOT NULL`);
    expect(rows[0]).toEqual({
      invoices: subscriptions,
      open: subscriptions,
      subtotal: subscriptions * 3000,
      // credits are pre-tax: total = subtotal - credits (docs/invoicing.md)
      total: subscriptions * 3000 - granted * 1000,
      due: subscriptions * 3000 - granted * 1000,
    });
    const applied = await q.query(
      `SELECT count(DISTINCT credit_grant)::int AS grants, coalesce(sum(amount), 0)::int AS amount
         FROM credit_ledger.credit_balance_transactions WHERE reason = 'credits_applied'`,
    );
    expect(applied.rows[0]).toEqual({ grants: granted, amount: granted * 1000 });
    expect(await exactlyOnce()).toEqual({ finalized_twice: 0, number_twice: 0, credited_twice: 0, overdrawn: 0 });

    // The Stripe events of the close, whichever replica decided and whichever relayed them.
    const finalized = new Map<string, Stripe.Invoice>();
    for (let tries = 0; finalized.size < subscriptions && tries < 100; tries++) {
      if (tries > 0) await new Promise((r) => setTimeout(r, 200));
      for await (const e of stripe.events.list({ type: 'invoice.finalized', limit: 100 })) {
        const inv = e.data.object as Stripe.Invoice;
        if (inv.parent?.subscription_details) finalized.set(inv.id!, inv);
      }
    }
    expect(finalized.size).toBe(subscriptions);
    const invoices = [...finalized.values()];
    expect(invoices.every((i) => i.status === 'open' && i.number !== null)).toBe(true);
    expect(invoices.reduce((n, i) => n + i.total, 0)).toBe(subscriptions * 3000 - granted * 1000);
  });

  it('finalizes an invoice once when both replicas are asked to at the same moment', async () => {
    const customer = await stripe.customers.create({ name: 'raced' });
    const drafts = [];
    for (let i = 0; i < 3; i++) {
      const invoice = await stripe.invoices.create({ customer: customer.id, auto_advance: false });
      await stripe.invoiceItems.create({ customer: customer.id, invoice: invoice.id, currency: 'usd', amount: 700 + i });
      drafts.push(invoice.id!);
    }
    // Eight concurrent finalize calls per invoice, spread by the queue group over both replicas.
    const outcomes = await Promise.all(
      drafts.flatMap((id) =>
        Array.from({ length: 8 }, () =>
          stripe.invoices.finalizeInvoice(id).then(
            (inv) => ({ id, ok: true, number: inv.number }),
            (e: Stripe.errors.StripeError) => ({ id, ok: false, code: e.code }),
          ),
        ),
      ),
    );
    for (const id of drafts) {
      const mine = outcomes.filter((o) => o.id === id);
      expect(mine.filter((o) => o.ok)).toHaveLength(1);
      for (const o of mine.filter((x) => !x.ok)) expect(o).toMatchObject({ code: 'status_transition_invalid' });
    }
    const numbers = outcomes.flatMap((o) => ('number' in o ? [o.number] : [])).sort();
    expect(numbers.map((n) => n!.split('-')[1])).toEqual(['0001', '0002', '0003']);
    expect(await exactlyOnce()).toEqual({ finalized_twice: 0, number_twice: 0, credited_twice: 0, overdrawn: 0 });
  });
});
