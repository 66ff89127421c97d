import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Msg, Subscription } from '@nats-io/transport-node';
import type { UsageQueryRequest } from '@meterflow/contracts';
import { encodeJson } from '@meterflow/messaging';
import { startServiceForTest, type ServiceUnderTest } from '@meterflow/service-kit';
import { createTestDatabase, deleteNamespaceStreams, testNamespace, type TestDatabase } from '@meterflow/testing';
import type { CommandPipeline } from '@meterflow/event-store';
import { RatingAggregates } from '../src/application/aggregates.js';
import { PIPELINE } from '../src/application/ports.js';
import { PeriodCloseService } from '../src/application/period-close.service.js';
import { createPrice } from '../src/domain/price.js';
import { ratingDefinition } from '../src/rating.definition.js';
import { RatingModule } from '../src/rating.module.js';

/**
 * Period-close throughput (DESIGN.md target: 100,000 subscriptions <= 60 s including invoicing).
 * Not part of the normal run: `RATING_BENCH=20000 pnpm vitest run services/rating/test/period-close.bench.int.spec.ts`.
 * Ingestion and invoicing are instant NATS responders, so this measures rating's own cost.
 */
const N = Number(process.env.RATING_BENCH ?? 0);

describe.skipIf(!N)(`period close of ${N} subscriptions`, () => {
  let db: TestDatabase;
  let svc: ServiceUnderTest;
  let ns: string;
  const subs: Subscription[] = [];
  let queries = 0;
  let invoices = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    ns = testNamespace();
    svc = await startServiceForTest(ratingDefinition, RatingModule, {
      databaseUrl: db.url,
      namespace: ns,
      env: { RATING_SCHEDULER_INTERVAL_MS: '0', RATING_CLOSE_BATCH_SIZE: process.env.RATING_CLOSE_BATCH_SIZE ?? '1000' },
    });
    const respond = (subject: string, fn: (d: any) => unknown) =>
      subs.push(
        svc.nc.subscribe(subject, {
          callback: (_e: Error | null, m: Msg) => void m.respond(encodeJson({ ok: true, result: fn(m.json()) })),
        }),
      );
    respond(svc.names.rpcSubject('meter-ingestion', 'usage.query'), (r: UsageQueryRequest) => {
      queries++;
      return { results: Object.fromEntries(r.queries.map((q) => [q.key, { value: '150', formula: 'sum' }])) };
    });
    const accept = (r: { idempotency_key: string }) => {
      invoices++;
      return { id: `in_${r.idempotency_key.length}` };
    };
    respond(svc.names.rpcSubject('invoicing', 'subscription_invoices.create'), accept);
    respond(svc.names.rpcSubject('invoicing', 'subscription_invoices.create_many'), (b: { requests: { idempotency_key: string }[] }) => ({
      results: b.requests.map((r) => ({ ok: true, result: accept(r) })),
    }));
  }, 600_000);
  afterAll(async () => {
    for (const s of subs) s.unsubscribe();
    await svc?.close();
    if (svc) await deleteNamespaceStreams(svc.nc, ns).catch(() => {});
    await db?.drop();
  });

  it('closes every period', async () => {
    const pipeline = svc.app.get<CommandPipeline>(PIPELINE);
    const type = svc.app.get(RatingAggregates).subscription;
    const price = createPrice(
      {
        currency: 'usd',
        product: 'prod_b',
        unit_amount: 1000,
        recurring: { interval: 'month', usage_type: 'metered', meter: 'mtr_b' },
        transform_quantity: { divide_by: 60, round: 'up' },
      },
      'price_b',
      0,
    );
    const t0 = Date.parse('2025-01-01T00:00:00Z') / 1000;
    const seed = Date.now();
    for (let i = 0; i < N; i += 1000) {
      await pipeline.run(async (uow) => {
        for (let j = i; j < Math.min(N, i + 1000); j++) {
          const id = `sub_bench${String(j).padStart(8, '0')}`;
          uow.fresh(type, [id]);
          uow.executeLoaded(type, id, {
            type: 'CreateSubscription',
            input: { id, now: t0, customer: { id: `cus_b${j}`, test_clock: 'clock_bench' }, items: [{ id: `si_bench${j}`, price }] },
          });
        }
      });
    }
    console.log(`seeded ${N} subscriptions in ${((Date.now() - seed) / 1000).toFixed(1)} s`);
    const started = Date.now();
    const res = await svc.app.get(PeriodCloseService).runDue('clock_bench', Date.parse('2025-02-01T00:00:00Z') / 1000);
    const secs = (Date.now() - started) / 1000;
    console.log(
      `closed ${res.closed} periods in ${secs.toFixed(1)} s (${Math.round(res.closed / secs)}/s), ${queries} usage queries, ${invoices} invoice requests`,
    );
    const { PG_POOL } = await import('@meterflow/service-kit');
    const sizes = await svc.app
      .get<any>(PG_POOL)
      .query(`SELECT type, count(*)::int AS n, avg(pg_column_size(data))::int AS avg_bytes FROM events GROUP BY type ORDER BY type`);
    const state = await svc.app.get<any>(PG_POOL).query(`SELECT avg(pg_column_size(state))::int AS avg_bytes FROM subscriptions`);
    console.log('event sizes', JSON.stringify(sizes.rows), 'state', state.rows[0].avg_bytes);
    expect(res.closed).toBe(N);
    expect(invoices).toBe(N);
  }, 1_800_000);
});
