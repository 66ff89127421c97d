import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from '@meterflow/testing';
import type { ServiceDefinition } from './definition.js';
import { parseMigrateArgs, pendingMigrations, runMigrations } from './migrations.js';

/** `node dist/migrate.js [--check [--wait=S]]` on a real Postgres: what the Kubernetes init container relies on. */
const def: ServiceDefinition = {
  name: 'rating',
  dbSchema: 'check_me',
  httpPort: 0,
  migrations: [
    { id: '0001_things', sql: 'CREATE TABLE things (id text PRIMARY KEY)' },
    { id: '0002_more', sql: 'ALTER TABLE things ADD COLUMN n int' },
  ],
};

let db: TestDatabase;
let env: Record<string, string>;
const lines: string[] = [];
const log = (l: string) => void lines.push(l);

beforeAll(async () => {
  db = await createTestDatabase('mf_migrate_check');
  env = { DATABASE_URL: db.url };
});
afterAll(async () => {
  process.exitCode = 0;
  await db?.drop();
});

/** Run in check mode and give back what it returned and the exit code it set (then reset it). */
async function check(argv: string[], defn = def): Promise<{ pending: string[]; exitCode: number }> {
  process.exitCode = 0;
  const pending = await runMigrations(defn, env, argv, { pollMs: 100, log });
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { pending, exitCode };
}

describe('migrations: --check and --wait', () => {
  it('parses its arguments and refuses anything else', () => {
    expect(parseMigrateArgs([])).toEqual({ check: false, waitSeconds: 0 });
    expect(parseMigrateArgs(['--check', '--wait=600'])).toEqual({ check: true, waitSeconds: 600 });
    expect(() => parseMigrateArgs(['--wait=5'])).toThrow(/--wait goes with --check/);
    expect(() => parseMigrateArgs(['--check', '--wait=soon'])).toThrow(/seconds/);
    expect(() => parseMigrateArgs(['--force'])).toThrow(/unknown argument --force/);
  });

  it('--check on a schema never migrated: everything pending, exit code 1, nothing applied', async () => {
    const r = await check(['--check']);
    expect(r).toEqual({ pending: ['0000_event_store', '0001_things', '0002_more'], exitCode: 1 });
    expect(await pendingMigrations(db.url, def.dbSchema, def.migrations)).toHaveLength(3);
  });

  it('--check --wait=S polls until the migrations are applied by someone else, then exits 0', async () => {
    const waiting = check(['--check', '--wait=20']);
    await new Promise((r) => setTimeout(r, 400));
    const applied = await runMigrations(def, env, [], { log });
    expect(applied).toEqual(['0000_event_store', '0001_things', '0002_more']);
    expect(await waiting).toEqual({ pending: [], exitCode: 0 });
    expect(lines.some((l) => /check_me: 3 pending \(0000_event_store, 0001_things, 0002_more\); waiting/.test(l))).toBe(true);
  });

  it('a new release with one more migration is pending until applied; --wait gives up after S seconds with exit code 1', async () => {
    const next = { ...def, migrations: [...def.migrations, { id: '0003_index', sql: 'CREATE INDEX things_n ON things (n)' }] };
    const started = Date.now();
    expect(await check(['--check', '--wait=1'], next)).toEqual({ pending: ['0003_index'], exitCode: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await runMigrations(next, env, [], { log });
    expect(await check(['--check'], next)).toEqual({ pending: [], exitCode: 0 });
  });

  it("in production, refuses only a default database password: the service's other defaults are not its business", async () => {
    const gatewayLike: ServiceDefinition = { ...def, envSchema: z.object({ MF_API_KEYS: z.string().default('sk_test_meterflow') }) };
    const prod = { ...env, NODE_ENV: 'production' };
    expect(await runMigrations(gatewayLike, prod, ['--check'], { log })).toEqual([]);
    const url = new URL(db.url);
    url.password = 'change-me';
    await expect(runMigrations(gatewayLike, { ...prod, DATABASE_URL: url.toString() }, ['--check'], { log })).rejects.toThrow(
      /DATABASE_URL carries a default password/,
    );
  });

  it('--check --wait rides out a database that does not answer yet', async () => {
    const saved = env;
    env = { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' };
    try {
      const r = await check(['--check', '--wait=0.5']);
      expect(r.exitCode).toBe(1);
      expect(lines.at(-1)).toMatch(/database not reachable/);
    } finally {
      env = saved;
    }
  });
});
