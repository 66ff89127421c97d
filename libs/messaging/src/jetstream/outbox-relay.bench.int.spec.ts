import pg from 'pg';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsNames, stripeEvent, type NatsNames } from '@meterflow/contracts';
import { eventStoreMigration, PgEventStore, type AppendBatch } from '@meterflow/event-store';
import { openTestInfra, type TestInfra } from '@meterflow/testing';
import { ensureStreams } from './index.js';
import type { OutboxRelay } from './outbox-relay.js';

/**
 * Opt-in relay throughput benchmark (skipped unless MF_RELAY_BENCH is set):
 *   MF_RELAY_BENCH=50000 pnpm exec vitest run --project int libs/messaging/src/jetstream/outbox-relay.bench.int.spec.ts
 * Appends N events (4 of 5 domain events shaped like an invoice, 1 of 5 a Stripe event), then
 * times one drain of all of them and the CPU this process spent on it. MF_RELAY_BENCH_IMPL
 * names another module exporting `OutboxRelay` (e.g. a copy of an older version) to compare.
 */
const N = Number(process.env.MF_RELAY_BENCH ?? 0);
const SCHEMA = 'invoicing';

let infra: TestInfra;
let pool: pg.Pool;
let nc: NatsConnection;
let ns: string;
let names: NatsNames;

function invoiceLike(i: number) {
  return {
    id: `in_${i.toString(36).padStart(10, '0')}`,
    object: 'invoice',
    customer: `cus_${(i % 997).toString(36)}`,
    subscription: `sub_${i.toString(36)}`,
    status: 'open',
    currency: 'usd',
    amount_due: 12_345 + i,
    amount_paid: 0,
    period_start: 1_700_000_000,
    period_end: 1_702_592_000,
    metadata: { plan: 'pro', region: 'eu-west-1', note: 'grüße "quoted"' },
    lines: Array.from({ length: 3 }, (_, l) => ({
      id: `il_${i}_${l}`,
      amount: 1000 * (l + 1),
      quantity: 10 + l,
      description: `Usage line ${l} for meter api_calls`,
      price: { id: `price_${l}`, unit_amount_decimal: '0.0125', billing_scheme: 'tiered' },
      period: { start: 1_700_000_000, end: 1_702_592_000 },
    })),
  };
}

describe.runIf(N > 0)('OutboxRelay throughput (opt-in)', () => {
  beforeAll(async () => {
    infra = await openTestInfra({ poolMax: 8 });
    ({ pool, nc, ns } = infra);
    await pool.query(eventStoreMigration(SCHEMA).sql);
    names = natsNames(ns);
    await ensureStreams(nc, names, [SCHEMA]);
    const store = new PgEventStore(pool, SCHEMA);
    const chunk = 500;
    for (let from = 0; from < N; from += chunk) {
      const batches: AppendBatch[] = [];
      for (let i = from; i < Math.min(N, from + chunk); i++) {
        const data = invoiceLike(i);
        if (i % 5 === 4) {
          const evt = stripeEvent(`evt_bench_${i}`, 'invoice.finalized', data, 1_700_000_000);
          batches.push({
            streamId: data.id,
            expected: 'any',
            events: [{ type: evt.type, schemaVersion: evt.schemaVersion, data: evt.data }],
          });
        } else {
          batches.push({ streamId: data.id, expected: 'any', events: [{ type: 'InvoiceFinalized', data }] });
        }
      }
      await store.appendMany(batches, {
        correlationId: 'req_bench',
        causationId: 'cmd_bench',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      });
    }
  }, 600_000);

  afterAll(async () => {
    await infra?.close();
  });

  it(`drains ${N} events`, async () => {
    const impl = process.env.MF_RELAY_BENCH_IMPL ?? './outbox-relay.js';
    const { OutboxRelay: Relay } = (await import(/* @vite-ignore */ impl)) as { OutboxRelay: typeof OutboxRelay };
    const relay = new Relay({ pool, schema: SCHEMA, nc, names, service: SCHEMA, listen: false });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const n = await relay.drainOnce();
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    await relay.stop();
    const stored = Number((await pool.query(`SELECT count(*) AS n FROM ${SCHEMA}.events`)).rows[0].n);
    expect(stored).toBe(N);
    expect(n).toBe(N);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    console.log(
      `relay bench (${impl}): ${n} events in ${ms.toFixed(0)} ms = ${Math.round((n / ms) * 1000)}/s; ` +
        `process CPU ${cpuMs.toFixed(0)} ms = ${((cpuMs * 1000) / n).toFixed(1)} µs/event`,
    );
  }, 600_000);
});
