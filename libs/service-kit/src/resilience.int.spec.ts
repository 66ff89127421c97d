import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Module } from '@nestjs/common';
import pg from 'pg';
import {
  createTestDatabase,
  eventually,
  startOwnNatsServer,
  testNamespace,
  type OwnNatsServer,
  type TestDatabase,
} from '@meterflow/testing';
import { RpcClient, connectNats } from '@meterflow/messaging';
import { natsNames } from '@meterflow/contracts';
import { startServiceForTest, type ServiceDefinition, type ServiceUnderTest } from './index.js';

@Module({})
class EmptyModule {}

const def: ServiceDefinition = { name: 'rating', dbSchema: 'resilient', migrations: [], httpPort: 0 };

const ready = async (url: string) => {
  const r = await fetch(`${url}/readyz`);
  return { status: r.status, body: (await r.json()) as { checks: Record<string, string> } };
};

describe('service-kit: a service outlives its dependencies going away', () => {
  let db: TestDatabase;
  let nats: OwnNatsServer;
  let svc: ServiceUnderTest;

  beforeAll(async () => {
    db = await createTestDatabase();
    nats = await startOwnNatsServer();
    svc = await startServiceForTest(def, EmptyModule, { databaseUrl: db.url, namespace: testNamespace(), env: { NATS_URL: nats.url } });
  });
  afterAll(async () => {
    await svc?.close();
    await nats?.stop();
    await db?.drop();
  });

  it('survives every pooled Postgres connection being killed (no unhandled pool error), and recovers', async () => {
    expect((await ready(svc.url)).status).toBe(200);
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    // Idle pooled clients now lose their server: before, that was an unhandled 'error' event.
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [db.name]);
    await admin.end();
    await new Promise((r) => setTimeout(r, 300));
    expect((await ready(svc.url)).status).toBe(200);
  });

  it('is not ready while NATS is down, fails calls fast, and is ready again once it is back', async () => {
    const nc = await connectNats({ url: nats.url, name: 'resilience-test' });
    const rpc = new RpcClient(nc, natsNames('x'));
    await nats.kill();
    const down = await eventually(async () => {
      const r = await ready(svc.url);
      return r.status === 503 ? r : undefined;
    }, 5_000);
    expect(down.body.checks).toMatchObject({ postgres: 'ok', nats: 'disconnected' });
    const t0 = Date.now();
    const e = await rpc.request('rating', 'anything', {}).catch((x: unknown) => x);
    expect(e).toMatchObject({ status: 503, code: 'service_unavailable' });
    expect(Date.now() - t0).toBeLessThan(1_000);
    await nats.start();
    const back = Date.now();
    await eventually(async () => ((await ready(svc.url)).status === 200 ? true : undefined), 10_000);
    expect(Date.now() - back).toBeLessThan(10_000);
    await nc.close();
  });
});
