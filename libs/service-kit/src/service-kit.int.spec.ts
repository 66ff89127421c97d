import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller, Inject, Module } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { stripeEvent } from '@meterflow/contracts';
import { DomainError, newId } from '@meterflow/kernel';
import type { PgEventStore } from '@meterflow/event-store';
import { createTestDatabase, deleteNamespaceStreams, eventually, testNamespace, type TestDatabase } from '@meterflow/testing';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsNames } from '@meterflow/contracts';
import type pg from 'pg';
import { RpcClient } from '@meterflow/messaging';
import {
  EVENT_STORE,
  NATS_CONNECTION,
  NATS_NAMES,
  PG_POOL,
  startServiceForTest,
  type ServiceDefinition,
  type ServiceUnderTest,
} from './index.js';

@Controller()
class ToyRpc {
  constructor(
    @Inject(EVENT_STORE) private readonly store: PgEventStore,
    @Inject(NATS_CONNECTION) nc: NatsConnection,
    @Inject(NATS_NAMES) names: NatsNames,
  ) {
    // The service's own RPC_CLIENT may only make rating's real calls (RPC_CALLS); a toy op is not one.
    this.rpc = new RpcClient(nc, names);
  }

  private readonly rpc: RpcClient;

  /** Creates a toy through another request: the chain's ids must travel with it. */
  @MessagePattern('toys.create_via')
  createVia(@Payload() p: { name: string }) {
    return this.rpc.request('rating', 'toys.create', { name: p.name });
  }

  @MessagePattern('toys.echo')
  echo(@Payload() p: { value: number }) {
    return { value: p.value, amount: 12n };
  }

  @MessagePattern('toys.fail')
  fail() {
    throw new DomainError('resource_missing', "No such toy: 'x'", { param: 'id', status: 404 });
  }

  @MessagePattern('toys.crash')
  crash() {
    throw new Error('boom');
  }

  @MessagePattern('toys.create')
  async create(@Payload() p: { name: string }) {
    const id = `toy_${p.name}`;
    const object = { id, object: 'toy', name: p.name };
    await this.store.append(id, 'no_stream', [
      { type: 'ToyCreated', data: object },
      stripeEvent(newId('event'), 'toy.created', object, 1_700_000_000),
    ]);
    return object;
  }
}

@Module({ controllers: [ToyRpc] })
class ToyModule {}

const toy: ServiceDefinition = {
  name: 'rating',
  dbSchema: 'toy',
  migrations: [{ id: '0001_toys', sql: 'CREATE TABLE toys (id text primary key)' }],
  httpPort: 0,
};

describe('service-kit: a service boots, answers, reports errors, publishes its facts', () => {
  let db: TestDatabase;
  let svc: ServiceUnderTest;
  const ns = testNamespace();

  beforeAll(async () => {
    db = await createTestDatabase();
    svc = await startServiceForTest(toy, ToyModule, { databaseUrl: db.url, namespace: ns });
  });
  afterAll(async () => {
    await svc?.close();
    const { connectTestNats } = await import('@meterflow/testing');
    const nc = await connectTestNats();
    await deleteNamespaceStreams(nc, ns);
    await nc.drain();
    await db?.drop();
  });

  it('answers request/reply ops, bigints as numbers', async () => {
    expect(await svc.rpc.request('rating', 'toys.echo', { value: 7 })).toEqual({ value: 7, amount: 12 });
  });

  it('keeps a DomainError whole across the wire, and hides unexpected errors', async () => {
    const e = await svc.rpc.request('rating', 'toys.fail', {}).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DomainError);
    expect(e).toMatchObject({ code: 'resource_missing', status: 404, param: 'id', message: "No such toy: 'x'" });
    const c = await svc.rpc.request('rating', 'toys.crash', {}).catch((x: unknown) => x);
    expect(c).toMatchObject({ status: 500, type: 'api_error' });
    const u = await svc.rpc.request('rating', 'toys.nope', {}, { timeoutMs: 500 }).catch((x: unknown) => x);
    expect(u).toMatchObject({ status: 503, code: 'service_unavailable' });
  });

  it('serves health, readiness and metrics', async () => {
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${svc.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { postgres: 'ok', nats: 'ok' } });
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toContain('process_cpu_user_seconds_total');
    // The ops answered above, timed by outcome (RED of the internal request/reply).
    for (const [op, outcome] of <const>[
      ['toys.echo', 'ok'],
      ['toys.fail', 'refused'],
      ['toys.crash', 'failed'],
    ])
      expect(metrics).toMatch(
        new RegExp(
          `^meterflow_rpc_duration_seconds_count\\{service="rating",op="${op.replace('.', '\\.')}",outcome="${outcome}"\\} [1-9]`,
          'm',
        ),
      );
  });

  it('relays a recorded Stripe event to mf.events.<type>', async () => {
    const got = new Promise<{ type: string; data: { object: { id: string } } }>((resolve) => {
      const sub = svc.nc.subscribe(svc.names.eventSubject('toy.created'), {
        callback: (_e, m) => {
          sub.unsubscribe();
          resolve(m.json());
        },
      });
    });
    await svc.rpc.request('rating', 'toys.create', { name: 'a' });
    const evt = await got;
    expect(evt).toMatchObject({ type: 'toy.created', data: { object: { id: 'toy_a' } } });
    // counted by the relay once its batch is acked (the cursor moves after the publish)
    await eventually(async () => {
      const text = await (await fetch(`${svc.url}/metrics`)).text();
      return Number(/^meterflow_relay_published_total\{service="rating"\} (\d+)$/m.exec(text)?.[1] ?? 0) >= 1 || undefined;
    });
  });

  it('records the chain each fact belongs to: correlation and causation ids from the request, passed on to the next', async () => {
    const meta = async (id: string) => (await svc.app.get<PgEventStore>(EVENT_STORE).readStream(id))[0]!.metadata;
    await svc.rpc.request('rating', 'toys.create', { name: 'api', requestId: 'req_api' });
    expect(await meta('toy_api')).toMatchObject({ correlationId: 'req_api', causationId: 'req_api' });
    await svc.rpc.request(
      'rating',
      'toys.create',
      { name: 'hdr' },
      { headers: { 'mf-correlation-id': 'req_root', 'mf-causation-id': 'evt_parent' } },
    );
    expect(await meta('toy_hdr')).toMatchObject({ correlationId: 'req_root', causationId: 'evt_parent' });
    await svc.rpc.request('rating', 'toys.create_via', { name: 'via', requestId: 'req_outer' });
    expect(await meta('toy_via')).toMatchObject({ correlationId: 'req_outer', causationId: 'req_outer' });
    await svc.rpc.request('rating', 'toys.create', { name: 'none' });
    expect(await meta('toy_none')).not.toHaveProperty('correlationId');
  });
});

describe('service-kit: the service pool', () => {
  it('compresses TOAST with lz4 when the server has it, and keeps working where it has not', async () => {
    const db = await createTestDatabase();
    const svc = await startServiceForTest(toy, ToyModule, { databaseUrl: db.url, namespace: testNamespace() });
    try {
      const pool = svc.app.get<pg.Pool>(PG_POOL);
      const { rows } = await pool.query<{ lz4: boolean; current: string }>(
        `SELECT 'lz4' = ANY(enumvals) AS lz4, current_setting('default_toast_compression') AS current
           FROM pg_settings WHERE name = 'default_toast_compression'`,
      );
      expect(rows[0]!.current).toBe(rows[0]!.lz4 ? 'lz4' : 'pglz');
      // Stored values are compressed with it (a 4 kB compressible value is TOASTed).
      await pool.query('CREATE TABLE toast_probe (v jsonb)');
      await pool.query(`INSERT INTO toast_probe SELECT jsonb_build_object('x', repeat('abc', 2000))`);
      const c = await pool.query<{ m: string }>('SELECT pg_column_compression(v) AS m FROM toast_probe');
      expect(c.rows[0]!.m).toBe(rows[0]!.current);
    } finally {
      await svc.close();
      await db.drop();
    }
  });
});
