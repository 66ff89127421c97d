import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

/** Where tests find the machine's Postgres and NATS (overridable like the services' own env). */
export const TEST_ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

const rand = (): string => randomBytes(5).toString('hex');

/** A namespace for subjects and streams that no other run uses (lower-case, NATS-token safe). */
export const testNamespace = (): string => `t${rand()}`;

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, empty Postgres database on the real server, dropped by `drop()`. */
export async function createTestDatabase(prefix = 'mf_test'): Promise<TestDatabase> {
  const name = `${prefix}_${rand()}`;
  const admin = new pg.Client({ connectionString: TEST_ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: TEST_ADMIN_DATABASE_URL });
      await c.connect();
      try {
        // Closing pools release their sockets a little after `end()` resolves: wait for them
        // rather than killing them (a killed client emits an unhandled 57P01 in the test).
        for (let i = 0; ; i++) {
          try {
            await c.query(i < 20 ? `DROP DATABASE IF EXISTS ${name}` : `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
            break;
          } catch (e) {
            if ((e as { code?: string }).code !== '55006' || i >= 20) throw e;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      } finally {
        await c.end();
      }
    },
  };
}

export async function connectTestNats(): Promise<NatsConnection> {
  return connect({ servers: TEST_NATS_URL, name: 'meterflow-test' });
}

/** Delete every JetStream stream whose name starts with the namespace's prefix. */
export async function deleteNamespaceStreams(nc: NatsConnection, namespace: string): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const prefix = `${namespace.toUpperCase()}_`;
  for await (const si of jsm.streams.list()) {
    if (si.config.name.startsWith(prefix)) await jsm.streams.delete(si.config.name);
  }
}

/** Poll until `check` returns a value that is not undefined, or fail after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) throw lastError instanceof Error ? lastError : new Error('eventually: timed out');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A fresh database with a pool, a NATS connection and a namespace of the test's own. */
export interface TestInfra {
  db: TestDatabase;
  pool: pg.Pool;
  nc: NatsConnection;
  ns: string;
  /** Delete the namespace's streams, close the connections, drop the database. */
  close(): Promise<void>;
}

export async function openTestInfra(opts: { poolMax?: number } = {}): Promise<TestInfra> {
  const db = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: opts.poolMax ?? 8 });
  const nc = await connectTestNats();
  const ns = testNamespace();
  return {
    db,
    pool,
    nc,
    ns,
    async close() {
      await deleteNamespaceStreams(nc, ns).catch(() => undefined);
      await nc.close();
      await pool.end();
      // pg-pool resolves end() before its sockets close; let them, so DROP ... (FORCE) kills nobody
      await new Promise((r) => setTimeout(r, 100));
      await db.drop();
    },
  };
}
export { deciderSpec, type ExpectedError, type SpecDecider } from './decider-spec.js';
export * from './nats-server.js';
