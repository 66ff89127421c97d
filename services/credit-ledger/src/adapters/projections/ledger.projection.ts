import type pg from 'pg';
import { evolveGrant, initialGrantState, type GrantState } from '../../domain/credit-grant.decider.js';
import {
  CreditBalanceTransactionRecorded,
  CreditGrantCreated,
  CreditGrantExpired,
  CreditGrantUpdated,
  CreditGrantVoided,
} from '@meterflow/contracts';
import type { ProgressListener } from '@meterflow/contracts';
import type { LedgerProjection } from '../../application/ports.js';
import { CREDIT_LEDGER_READ_MODEL_INDEXES } from '../persistence/migrations.js';

type Db = Pick<pg.PoolClient, 'query'>;

/**
 * One projection, two scopes: after each append (the positions and grants just written, in the
 * writer's transaction) and for a rebuild (everything). Same code either way, so a rebuild
 * yields exactly the live state.
 *
 * - `credit_balance_transactions`: one row per `CreditBalanceTransactionRecorded`, set-based SQL
 *   over `events` (a rebuild of a million postings never leaves Postgres).
 * - `credit_grants`: grant lifecycle folded with the domain's `evolveGrant`; `ledger_balance` and
 *   `granted` are then derived from the postings.
 */
const POSTING = CreditBalanceTransactionRecorded.type;
const LIFECYCLE = [CreditGrantCreated.type, CreditGrantUpdated.type, CreditGrantExpired.type, CreditGrantVoided.type];
const GRANT_STREAM_PREFIX = 'credit_grant-';

// One jsonb_to_record per event (not one `->>` per column): a third of the time on a rebuild.
const TXN_RECORD = `jsonb_to_record(e.data) AS d(id text, credit_grant text, customer text, test_clock text,
  currency text, type text, reason text, amount bigint, effective_at bigint, created bigint, invoice text,
  invoice_line_item text, idempotency_key text)`;
const TXN_INSERT = `
INSERT INTO credit_balance_transactions
  (id, credit_grant, customer, test_clock, currency, type, reason, amount, effective_at, created,
   invoice, invoice_line_item, idempotency_key, global_position)
SELECT d.id, d.credit_grant, d.customer, d.test_clock, d.currency, d.type, d.reason, d.amount, d.effective_at,
       d.created, d.invoice, d.invoice_line_item, d.idempotency_key, e.global_position
FROM events e, ${TXN_RECORD}`;

/**
 * Project postings: `positions` = just those events (idempotent), `null` = all of them into
 * an empty table (the rebuild; no conflict check, the primary key is added afterwards).
 */
export async function projectTransactions(db: Db, positions: readonly bigint[] | null): Promise<void> {
  if (positions === null) {
    await db.query(`${TXN_INSERT} WHERE e.type = $1`, [POSTING]);
    return;
  }
  if (positions.length === 0) return;
  await db.query(`${TXN_INSERT} WHERE e.type = $1 AND e.global_position = ANY($2::bigint[]) ON CONFLICT (id) DO NOTHING`, [
    POSTING,
    positions.map(String),
  ]);
}

/** Project grant rows: `grantIds` = just those grants, `null` = all of them. */
export async function projectGrants(db: Db, grantIds: readonly string[] | null): Promise<void> {
  if (grantIds !== null && grantIds.length === 0) return;
  // Each id once: the lookups below are per id, so a repeated one would replay its stream twice.
  const ids = grantIds === null ? null : [...new Set(grantIds)];
  // Just some grants: each stream looked up by its id alone (LATERAL, fenced with OFFSET 0 so the
  // type stays outside), as the stored-answers read does. With ids and type in one WHERE the
  // planner ANDed in the type index and read every grant event stored so far, per call.
  const { rows } = await db.query<{ stream_id: string; type: string; data: unknown }>(
    ids === null
      ? `SELECT stream_id, type, data FROM events WHERE type = ANY($1::text[]) ORDER BY global_position`
      : `SELECT x.stream_id, x.type, x.data FROM unnest($2::text[]) AS s(stream_id)
          CROSS JOIN LATERAL (
            SELECT e.stream_id, e.type, e.data, e.global_position FROM events e WHERE e.stream_id = s.stream_id OFFSET 0) x
          WHERE x.type = ANY($1::text[]) ORDER BY x.global_position`,
    ids === null ? [LIFECYCLE] : [LIFECYCLE, ids.map((id) => GRANT_STREAM_PREFIX + id)],
  );
  const states = new Map<string, GrantState>();
  for (const r of rows) states.set(r.stream_id, evolveGrant(states.get(r.stream_id) ?? initialGrantState(), r));
  const grants = [...states.values()].filter((s) => s.exists);
  for (let i = 0; i < grants.length; i += 5000) await upsertGrants(db, grants.slice(i, i + 5000));

  // Balances are derived from postings only. All grants: one pass over the postings. Some: each
  // grant's postings and row looked up by its id (LATERAL), where a join over the whole table let
  // the planner hash it with a scan of every grant and posting, per call.
  const balance = `sum(CASE WHEN type = 'credit' THEN amount ELSE -amount END) AS balance, bool_or(reason = 'credits_granted') AS granted`;
  await db.query(
    ids === null
      ? `UPDATE credit_grants g SET ledger_balance = s.balance, granted = s.granted
           FROM (SELECT credit_grant AS id, ${balance} FROM credit_balance_transactions GROUP BY credit_grant) s
          WHERE g.id = s.id`
      : `UPDATE credit_grants g SET ledger_balance = s.balance, granted = s.granted
           FROM (SELECT u.id, t.balance, t.granted FROM unnest($1::text[]) AS u(id)
                  CROSS JOIN LATERAL (SELECT ${balance} FROM credit_balance_transactions c WHERE c.credit_grant = u.id) t
                 WHERE t.balance IS NOT NULL) s
          WHERE g.id = s.id`,
    ids === null ? [] : [ids],
  );
}

async function upsertGrants(db: Db, grants: readonly GrantState[]): Promise<void> {
  if (grants.length === 0) return;
  const col = <T>(f: (s: GrantState) => T) => grants.map(f);
  await db.query(
    `INSERT INTO credit_grants (id, customer, test_clock, currency, amount, category, price_type, prices, priority,
       effective_at, expires_at, name, metadata, created, updated, voided_at, expired_at)
     SELECT id, customer, test_clock, currency, amount, category, price_type,
            CASE WHEN prices IS NULL THEN NULL ELSE ARRAY(SELECT jsonb_array_elements_text(prices)) END,
            priority, effective_at, expires_at, name, metadata, created, updated, voided_at, expired_at
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::jsonb[],
                 $9::int[], $10::bigint[], $11::bigint[], $12::text[], $13::jsonb[], $14::bigint[], $15::bigint[],
                 $16::bigint[], $17::bigint[])
       AS u(id, customer, test_clock, currency, amount, category, price_type, prices, priority, effective_at,
            expires_at, name, metadata, created, updated, voided_at, expired_at)
     ON CONFLICT (id) DO UPDATE SET
       expires_at = excluded.expires_at, metadata = excluded.metadata, updated = excluded.updated,
       voided_at = excluded.voided_at, expired_at = excluded.expired_at`,
    [
      col((s) => s.id),
      col((s) => s.customer),
      col((s) => s.testClock),
      col((s) => s.currency),
      col((s) => s.amount.toString()),
      col((s) => s.category),
      col((s) => s.scope.price_type),
      col((s) => (s.scope.prices ? JSON.stringify(s.scope.prices) : null)),
      col((s) => s.priority),
      col((s) => s.effectiveAt),
      col((s) => s.expiresAt),
      col((s) => s.name),
      col((s) => JSON.stringify(s.metadata)),
      col((s) => s.created),
      col((s) => s.updated),
      col((s) => s.voidedAt),
      col((s) => s.expiredAt),
    ],
  );
}

/** Project what one append stored: its postings and the grants it touched. */
export async function projectStored(db: Db, stored: readonly { globalPosition: bigint; streamId: string; type: string }[]): Promise<void> {
  await projectTransactions(
    db,
    stored.filter((e) => e.type === POSTING).map((e) => e.globalPosition),
  );
  const grants = new Set(
    stored.filter((e) => e.streamId.startsWith(GRANT_STREAM_PREFIX)).map((e) => e.streamId.slice(GRANT_STREAM_PREFIX.length)),
  );
  await projectGrants(db, [...grants]);
}

/** The live path (the pipeline's `project` for grants): what a unit of work appended, in its transaction. */
export class GrantsProjection implements LedgerProjection {
  project: LedgerProjection['project'] = (tx, changes) =>
    projectStored(
      tx,
      changes.flatMap((c) => c.stored),
    );
}

/** Where each column of `credit_balance_transactions` comes from in a stored posting (`d` = its data, `e` = the event row). */
const TXN_SOURCES: Readonly<Record<string, string>> = {
  id: 'd.id',
  credit_grant: 'd.credit_grant',
  customer: 'd.customer',
  test_clock: 'd.test_clock',
  currency: 'd.currency',
  type: 'd.type',
  reason: 'd.reason',
  amount: 'd.amount',
  effective_at: 'd.effective_at',
  created: 'd.created',
  invoice: 'd.invoice',
  invoice_line_item: 'd.invoice_line_item',
  idempotency_key: 'd.idempotency_key',
  global_position: 'e.global_position',
};

const INDEX_NAMES = [...CREDIT_LEDGER_READ_MODEL_INDEXES.matchAll(/INDEX IF NOT EXISTS (\w+)/g)].map((m) => m[1]!);

/**
 * Drop the read models' contents and replay the event store into them, in one transaction.
 * Writers wait (the read models are locked EXCLUSIVE from the start); readers see the old rows
 * until the postings table is swapped in at the end (then they wait for its keys and indexes).
 *
 * Postings: one `CREATE TABLE … AS SELECT` over the events (Postgres parses the JSON in parallel
 * workers, which an `INSERT … SELECT` never gets), shaped like the live table read from the
 * catalog (types, collations, NOT NULL, privileges); the live table is dropped, the new one
 * renamed, then its constraints and indexes recreated from the live table's own definitions
 * (sorting a million ids once beats a million random b-tree inserts). If the live table has a
 * column this code does not know how to fill, it falls back to emptying it and `INSERT … SELECT`.
 */
export async function rebuildReadModels(db: Db, onProgress?: ProgressListener): Promise<{ grants: number; transactions: number }> {
  await db.query('LOCK TABLE credit_grants, credit_balance_transactions IN EXCLUSIVE MODE');
  await db.query('SET LOCAL jit = off');
  const { rows: maxRows } = await db.query<{ max: string | null }>('SELECT max(global_position)::text AS max FROM events');
  const total = Number(maxRows[0]?.max ?? 0);
  onProgress?.({ phase: 'replay', done: 0, total, unit: 'events' });
  // Postings replayed: the new table's row count (its CREATE TABLE AS reports it), or null for the fallback.
  let transactions = await replayIntoNewTable(db);
  if (transactions === null) {
    await db.query('TRUNCATE credit_balance_transactions');
    for (const name of INDEX_NAMES) await db.query(`DROP INDEX IF EXISTS ${name}`);
    await db.query('ALTER TABLE credit_balance_transactions DROP CONSTRAINT IF EXISTS credit_balance_transactions_pkey');
    await projectTransactions(db, null);
    onProgress?.({ phase: 'indexes', done: 0, total: 0, unit: '' });
    await db.query('ALTER TABLE credit_balance_transactions ADD CONSTRAINT credit_balance_transactions_pkey PRIMARY KEY (id)');
    await db.query(CREDIT_LEDGER_READ_MODEL_INDEXES);
  }
  onProgress?.({ phase: 'replay', done: total, total, unit: 'events' });
  onProgress?.({ phase: 'grants', done: 0, total: 0, unit: '' });
  await db.query('TRUNCATE credit_grants');
  await projectGrants(db, null);
  const { rows } = await db.query<{ g: string; t: string }>(
    `SELECT (SELECT count(*) FROM credit_grants) AS g, ${transactions === null ? '(SELECT count(*) FROM credit_balance_transactions)' : 'NULL'} AS t`,
  );
  transactions ??= Number(rows[0]!.t);
  return { grants: Number(rows[0]!.g), transactions };
}

const NEW_TABLE = 'credit_balance_transactions_rebuild';

/** The parallel `CREATE TABLE … AS` + swap, returning the rows replayed; null (nothing done) when the live table's columns are not the known ones. */
async function replayIntoNewTable(db: Db): Promise<number | null> {
  const { rows: cols } = await db.query<{ name: string; type: string; notnull: boolean; coll: string | null }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull,
            CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                 THEN quote_ident(n.nspname) || '.' || quote_ident(c.collname) END AS coll
     FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
     LEFT JOIN pg_collation c ON c.oid = a.attcollation LEFT JOIN pg_namespace n ON n.oid = c.collnamespace
     WHERE a.attrelid = 'credit_balance_transactions'::regclass AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum`,
  );
  const known = Object.keys(TXN_SOURCES);
  if (cols.length !== known.length || cols.some((c) => !(c.name in TXN_SOURCES))) return null;
  const { rows: defs } = await db.query<{ sql: string }>(
    `SELECT format('ALTER TABLE credit_balance_transactions ADD CONSTRAINT %I %s', conname, pg_get_constraintdef(oid)) AS sql
     FROM pg_constraint WHERE conrelid = 'credit_balance_transactions'::regclass AND contype <> 'n'
     UNION ALL
     SELECT pg_get_indexdef(indexrelid) FROM pg_index
     WHERE indrelid = 'credit_balance_transactions'::regclass
       AND indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE conrelid = 'credit_balance_transactions'::regclass)
     UNION ALL
     SELECT format('GRANT %s ON credit_balance_transactions TO %s%s', a.privilege_type,
                   CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                   CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
     FROM pg_class r, aclexplode(r.relacl) a WHERE r.oid = 'credit_balance_transactions'::regclass AND a.grantee <> r.relowner`,
  );
  const select = cols.map((c) => `(${TXN_SOURCES[c.name]})::${c.type}${c.coll ? ` COLLATE ${c.coll}` : ''} AS ${c.name}`);
  await db.query(`DROP TABLE IF EXISTS ${NEW_TABLE}`);
  // A Gather over the events scan: the JSON parsing runs in the parallel workers.
  await db.query('SET LOCAL parallel_setup_cost = 0');
  await db.query('SET LOCAL parallel_tuple_cost = 0');
  // (A utility statement: no bind parameters; POSTING is a constant event type name.)
  const created = await db.query(
    `CREATE TABLE ${NEW_TABLE} AS SELECT ${select.join(', ')} FROM events e, ${TXN_RECORD} WHERE e.type = '${POSTING}'`,
  );
  await db.query('RESET parallel_setup_cost');
  await db.query('RESET parallel_tuple_cost');
  const notNull = cols.filter((c) => c.notnull).map((c) => `ALTER COLUMN ${c.name} SET NOT NULL`);
  if (notNull.length) await db.query(`ALTER TABLE ${NEW_TABLE} ${notNull.join(', ')}`);
  await db.query('DROP TABLE credit_balance_transactions');
  await db.query(`ALTER TABLE ${NEW_TABLE} RENAME TO credit_balance_transactions`);
  for (const d of defs) await db.query(d.sql);
  return created.rowCount ?? 0;
}
