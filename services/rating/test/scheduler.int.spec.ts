import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Msg, Subscription } from '@nats-io/transport-node';
import type { ApiRequest, CreateSubscriptionInvoiceRequest, UsageQueryRequest } from '@meterflow/contracts';
import { encodeJson } from '@meterflow/messaging';
import { startServiceForTest, type ServiceUnderTest } from '@meterflow/service-kit';
import { createTestDatabase, deleteNamespaceStreams, eventually, testNamespace, type TestDatabase } from '@meterflow/testing';
import { ratingDefinition } from '../src/rating.definition.js';
import { RatingModule } from '../src/rating.module.js';

/** Customers without a test clock: the real-time scheduler closes their periods on the system clock. */
describe('real-time period close', () => {
  let db: TestDatabase;
  let svc: ServiceUnderTest;
  const ns = testNamespace();
  const subs: Subscription[] = [];
  const invoices: CreateSubscriptionInvoiceRequest[] = [];
  const req = (params: Record<string, unknown>, path: Record<string, string> = {}): ApiRequest => ({
    params,
    path,
    requestId: 'r',
    livemode: false,
  });

  beforeAll(async () => {
    db = await createTestDatabase();
    svc = await startServiceForTest(ratingDefinition, RatingModule, {
      databaseUrl: db.url,
      namespace: ns,
      env: { RATING_SCHEDULER_INTERVAL_MS: '200' },
    });
    const respond = (subject: string, fn: (d: any) => unknown) =>
      subs.push(
        svc.nc.subscribe(subject, {
          callback: (_e: Error | null, m: Msg) => void m.respond(encodeJson({ ok: true, result: fn(m.json()) })),
        }),
      );
    respond(svc.names.rpcSubject('meter-ingestion', 'usage.query'), (r: UsageQueryRequest) => ({
      results: Object.fromEntries(r.queries.map((q) => [q.key, { value: '90', formula: 'sum' }])),
    }));
    const accept = (r: CreateSubscriptionInvoiceRequest) => {
      invoices.push(r);
      return { id: `in_rt${invoices.length}` };
    };
    respond(svc.names.rpcSubject('invoicing', 'subscription_invoices.create'), accept);
    respond(
      svc.names.rpcSubject('invoicing', 'subscription_invoices.create_many'),
      (b: { requests: CreateSubscriptionInvoiceRequest[] }) => ({
        results: b.requests.map((r) => ({ ok: true, result: accept(r) })),
      }),
    );
  });
  afterAll(async () => {
    for (const s of subs) s.unsubscribe();
    await svc?.close();
    if (svc) await deleteNamespaceStreams(svc.nc, ns).catch(() => {});
    await db?.drop();
  });

  it('closes a period when its end passes', async () => {
    const cus = await svc.rpc.request<any>('rating', 'customers.create', req({}));
    const price = await svc.rpc.request<any>(
      'rating',
      'prices.create',
      req({
        currency: 'usd',
        product_data: { name: 'Minutes' },
        unit_amount: '1000',
        recurring: { interval: 'day', usage_type: 'metered', meter: 'mtr_rt' },
        transform_quantity: { divide_by: '60', round: 'up' },
      }),
    );
    const anchor = Math.floor(Date.now() / 1000) + 2;
    const sub = await svc.rpc.request<any>(
      'rating',
      'subscriptions.create',
      req({ customer: cus.id, items: [{ price: price.id }], billing_cycle_anchor: String(anchor) }),
    );
    expect(sub.items.data[0].current_period_end).toBe(anchor);
    const inv = await eventually(async () => invoices.find((i) => i.subscription === sub.id), 10_000);
    expect(inv).toMatchObject({
      billing_reason: 'subscription_cycle',
      period_end: anchor,
      test_clock: null,
      lines: [{ quantity: 90, amount: 2000 }],
    });
    // The invoice is handed over before the close is committed: the subscription moves on just after.
    const after = await eventually(async () => {
      const s = await svc.rpc.request<any>('rating', 'subscriptions.retrieve', req({}, { id: sub.id }));
      return s.items.data[0].current_period_start === anchor ? s : undefined;
    }, 5_000);
    expect(after.items.data[0]).toMatchObject({ current_period_start: anchor, current_period_end: anchor + 86400 });
    expect(after.latest_invoice).toBe(inv && `in_rt${invoices.indexOf(inv) + 1}`);
  });
});
