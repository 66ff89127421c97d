import { createTestDatabase, deleteNamespaceStreams, testNamespace, type TestDatabase } from '@meterflow/testing';
import { startServiceForTest, type ServiceUnderTest } from '@meterflow/service-kit';
import type { ApiRequest } from '@meterflow/contracts';
import { newId } from '@meterflow/kernel';
import { meterIngestionDefinition } from '../src/meter-ingestion.definition.js';
import { MeterIngestionModule } from '../src/meter-ingestion.module.js';

export interface Harness {
  svc: ServiceUnderTest;
  db: TestDatabase;
  namespace: string;
  call<T = any>(op: string, params?: Record<string, unknown>, path?: Record<string, string>, extra?: Partial<ApiRequest>): Promise<T>;
  close(): Promise<void>;
}

/** The service in-process on a fresh database and namespace, called exactly as the gateway does. */
export async function startIngestion(env: Record<string, string> = {}): Promise<Harness> {
  const db = await createTestDatabase();
  const namespace = testNamespace();
  const svc = await startServiceForTest(meterIngestionDefinition, MeterIngestionModule, {
    databaseUrl: db.url,
    namespace,
    env: { INGEST_CUSTOMER_LOOKUP: 'off', ...env },
  });
  return {
    svc,
    db,
    namespace,
    call: (op, params = {}, path = {}, extra = {}) =>
      svc.rpc.request('meter-ingestion', op, { params, path, requestId: newId('request'), livemode: false, ...extra }),
    async close() {
      await svc.close();
      const { connectTestNats } = await import('@meterflow/testing');
      const nc = await connectTestNats();
      await deleteNamespaceStreams(nc, namespace).catch(() => undefined);
      await nc.close();
      await db.drop();
    },
  };
}

/** The error a failing call rejects with. */
export async function errorOf(p: Promise<unknown>): Promise<{ code: string; message: string; param?: string; status: number }> {
  try {
    await p;
  } catch (e) {
    return e as never;
  }
  throw new Error('expected the call to fail');
}
