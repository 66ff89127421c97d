import pg from 'pg';
import { eventStoreMigration } from '@meterflow/event-store';
import type { Migration, ServiceDefinition } from './definition.js';
import { loadServiceConfig } from './config.js';

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

/** The `migrate` command of a service: apply, report, exit code via the caller. */
export async function runMigrations(def: ServiceDefinition, overrides: Record<string, string> = {}): Promise<string[]> {
  const cfg = loadServiceConfig(def, overrides);
  const applied = await applyMigrations(cfg.DATABASE_URL, def.dbSchema, def.migrations);
  return applied;
}
