import pg from 'pg';
import { eventStoreMigration } from '@meterflow/event-store';
import type { Migration, ServiceDefinition } from './definition.js';
import { loadConfig, refuseDefaultSecretsInProduction } from '@meterflow/kernel';
import { envSchemaFor } from './config.js';

/** Create the database named in the URL if it does not exist (first run on a bare server). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!name) return;
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const c = new pg.Client({ connectionString: admin.toString() });
  await c.connect();
  try {
    const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount)
      await c.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((e: { code?: string }) => {
        if (e.code !== '42P04') throw e; // created concurrently by another migrator
      });
  } finally {
    await c.end();
  }
}

/**
 * Apply the service's migrations (event-store tables first) in order, each once, each in its
 * own transaction, under an advisory lock so concurrent migrators wait for each other.
 */
export async function applyMigrations(databaseUrl: string, schema: string, migrations: Migration[]): Promise<string[]> {
  await ensureDatabase(databaseUrl);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const applied: string[] = [];
  const q = `"${schema}"`;
  try {
    await client.query(`SELECT pg_advisory_lock(hashtext($1))`, [`meterflow-migrate-${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${q}.schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ id: string }>(`SELECT id FROM ${q}.schema_migrations`);
    const done = new Set(rows.map((r) => r.id));
    for (const m of [eventStoreMigration(schema), ...migrations]) {
      if (done.has(m.id)) continue;
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL search_path TO ${q}, public`);
        await client.query(m.sql);
        await client.query(`INSERT INTO ${q}.schema_migrations (id) VALUES ($1)`, [m.id]);
        await client.query('COMMIT');
        applied.push(m.id);
      } catch (e) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${schema}/${m.id} failed: ${(e as Error).message}`);
      }
    }
  } finally {
    await client.query(`SELECT pg_advisory_unlock(hashtext($1))`, [`meterflow-migrate-${schema}`]).catch(() => {});
    await client.end();
  }
  return applied;
}

/**
 * The ids of the service's migrations (event-store tables first) not yet applied to `schema`,
 * in order: all of them when the schema has never been migrated. Read only.
 */
export async function pendingMigrations(databaseUrl: string, schema: string, migrations: Migration[]): Promise<string[]> {
  const all = [eventStoreMigration(schema), ...migrations].map((m) => m.id);
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: exists } = await client.query<{ t: string | null }>(`SELECT to_regclass($1) AS t`, [`"${schema}".schema_migrations`]);
    if (!exists[0]?.t) return all;
    const { rows } = await client.query<{ id: string }>(`SELECT id FROM "${schema}".schema_migrations`);
    const done = new Set(rows.map((r) => r.id));
    return all.filter((id) => !done.has(id));
  } finally {
    await client.end();
  }
}

/** `--check [--wait=S]` of the migrate command. */
export interface MigrateArgs {
  check: boolean;
  /** Seconds to keep polling (every `pollMs`) for the migrations to be applied by someone else. */
  waitSeconds: number;
}

export function parseMigrateArgs(argv: readonly string[]): MigrateArgs {
  const args: MigrateArgs = { check: false, waitSeconds: 0 };
  for (const a of argv) {
    if (a === '--check') args.check = true;
    else if (a.startsWith('--wait=')) {
      const n = Number(a.slice('--wait='.length));
      if (!Number.isFinite(n) || n < 0) throw new Error(`--wait takes seconds, not "${a.slice(7)}"`);
      args.waitSeconds = n;
    } else throw new Error(`unknown argument ${a} (usage: migrate.js [--check [--wait=SECONDS]])`);
  }
  if (args.waitSeconds && !args.check) throw new Error('--wait goes with --check');
  return args;
}

/**
 * The `migrate` command of a service (`node dist/migrate.js`): apply its migrations and return
 * their ids. With `--check` it applies nothing: it returns the migrations still pending (empty:
 * the schema is current) and sets the exit code to 1 when there are any; `--wait=S` polls up to
 * S seconds for someone else (the migration Job) to apply them, riding out a database that is
 * not up yet. Kubernetes runs `--check --wait=600` as an init container, so a new version never
 * starts on a schema that has not been migrated for it.
 */
export async function runMigrations(
  def: ServiceDefinition,
  overrides: Record<string, string> = {},
  argv: readonly string[] = process.argv.slice(2),
  opts: { pollMs?: number; log?: (line: string) => void } = {},
): Promise<string[]> {
  const args = parseMigrateArgs(argv);
  // Migrating uses the database only: refuse a default password there, not the service's other
  // defaults (the gateway's API keys are not in the migration Job's environment).
  const cfg = loadConfig(envSchemaFor(def), { ...process.env, ...overrides }) as { NODE_ENV: string; DATABASE_URL: string };
  refuseDefaultSecretsInProduction({ NODE_ENV: cfg.NODE_ENV, DATABASE_URL: cfg.DATABASE_URL });
  const log = opts.log ?? ((line: string) => console.log(line));
  if (!args.check) {
    const applied = await applyMigrations(cfg.DATABASE_URL, def.dbSchema, def.migrations);
    log(`${def.name}: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
    return applied;
  }
  const deadline = Date.now() + args.waitSeconds * 1000;
  let said = '';
  for (;;) {
    let pending: string[] | undefined;
    let problem = '';
    try {
      pending = await pendingMigrations(cfg.DATABASE_URL, def.dbSchema, def.migrations);
      if (pending.length === 0) {
        log(`${def.name}: schema ${def.dbSchema} is up to date`);
        return [];
      }
      problem = `${pending.length} pending (${pending.join(', ')})`;
    } catch (e) {
      problem = `database not reachable (${(e as Error).message})`;
    }
    if (Date.now() >= deadline) {
      log(`${def.name}: schema ${def.dbSchema}: ${problem}${args.waitSeconds ? ` after waiting ${args.waitSeconds} s` : ''}`);
      process.exitCode = 1;
      return pending ?? [eventStoreMigration(def.dbSchema).id, ...def.migrations.map((m) => m.id)];
    }
    if (problem !== said) log(`${def.name}: schema ${def.dbSchema}: ${problem}; waiting`);
    said = problem;
    await new Promise((r) => setTimeout(r, Math.min(opts.pollMs ?? 2000, Math.max(0, deadline - Date.now()))));
  }
}
