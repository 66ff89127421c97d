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
const TXN_INSERT = `
INSERT INTO credit_balance_transactions
  (id, credit_grant, customer, test_clock, currency, type, reason, amount, effective_at, created,
   invoice, invoice_line_item, idempotency_key, global_position)
SELECT d.id, d.credit_grant, d.customer, d.test_clock, d.currency, d.type, d.reason, d.amount, d.effective_at,
       d.created, d.invoice, d.invoice_line_item, d.idempotency_key, e.global_position
FROM events e, jsonb_to_record(e.data) AS d(id text, credit_grant text, customer text, test_clock text,
  currency text, type text, reason text, amount bigint, effective_at bigint, created bigint, invoice text,
  invoice_line_item text, idempotency_key text)`;

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
  const params: unknown[] = [LIFECYCLE];
  let filter = '';
  if (grantIds !== null) {
    params.push(grantIds.map((id) => GRANT_STREAM_PREFIX + id));
    filter = 'AND stream_id = ANY($2::text[])';
  }
  const { rows } = await db.query<{ stream_id: string; type: string; data: unknown }>(
    `SELECT stream_id, type, data FROM events WHERE type = ANY($1::text[]) ${filter} ORDER BY global_position`,
    params,
  );
  const states = new Map<string, GrantState>();
  for (const r of rows) states.set(r.stream_id, evolveGrant(states.get(r.stream_id) ?? initialGrantState(), r));
  const grants = [...states.values()].filter((s) => s.exists);
  for (let i = 0; i < grants.length; i += 5000) await upsertGrants(db, grants.slice(i, i + 5000));

  // Balances are derived from postings only.
  const balanceFilter = grantIds === null ? '' : 'WHERE credit_grant = ANY($1::text[])';
  await db.query(
    `UPDATE credit_grants g SET ledger_balance = s.balance, granted = s.granted
     FROM (SELECT credit_grant,
                  sum(CASE WHEN type = 'credit' THEN amount ELSE -amount END) AS balance,
                  bool_or(reason = 'credits_granted') AS granted
           FROM credit_balance_transactions ${balanceFilter} GROUP BY credit_grant) s
     WHERE g.id = s.credit_grant`,
    grantIds === null ? [] : [grantIds],
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

const INDEX_NAMES = [...CREDIT_LEDGER_READ_MODEL_INDEXES.matchAll(/INDEX IF NOT EXISTS (\w+)/g)].map((m) => m[1]!);

/**
 * Drop the read models' contents and replay the event store into them, in one transaction
 * (readers see the old state until it commits). Keys and indexes are built once, at the end:
 * sorting a million ids once beats a million random b-tree inserts.
 */
export async function rebuildReadModels(db: Db, onProgress?: ProgressListener): Promise<{ grants: number; transactions: number }> {
  await db.query('TRUNCATE credit_grants, credit_balance_transactions');
  for (const name of INDEX_NAMES) await db.query(`DROP INDEX IF EXISTS ${name}`);
  await db.query('ALTER TABLE credit_balance_transactions DROP CONSTRAINT IF EXISTS credit_balance_transactions_pkey');
  await replayPostings(db, onProgress);
  onProgress?.({ phase: 'indexes', done: 0, total: 0, unit: '' });
  await db.query('ALTER TABLE credit_balance_transactions ADD CONSTRAINT credit_balance_transactions_pkey PRIMARY KEY (id)');
  await db.query(CREDIT_LEDGER_READ_MODEL_INDEXES);
  onProgress?.({ phase: 'grants', done: 0, total: 0, unit: '' });
  await projectGrants(db, null);
  const { rows } = await db.query<{ g: string; t: string }>(
    'SELECT (SELECT count(*) FROM credit_grants) AS g, (SELECT count(*) FROM credit_balance_transactions) AS t',
  );
  return { grants: Number(rows[0]!.g), transactions: Number(rows[0]!.t) };
}

/** Positions per INSERT of a rebuild: a progress step, still a large set-based statement. */
const REPLAY_CHUNK = 200_000;

/**
 * `projectTransactions(db, null)` in slices of the global position, so that a listener sees how
 * far the replay is (events replayed / the last position). Without one: a single statement.
 */
async function replayPostings(db: Db, onProgress?: ProgressListener): Promise<void> {
  if (!onProgress) return projectTransactions(db, null);
  const { rows } = await db.query<{ max: string | null }>('SELECT max(global_position)::text AS max FROM events');
  const total = Number(rows[0]?.max ?? 0);
  onProgress({ phase: 'replay', done: 0, total, unit: 'events' });
  for (let from = 0; from < total; from += REPLAY_CHUNK) {
    const to = Math.min(total, from + REPLAY_CHUNK);
    await db.query(`${TXN_INSERT} WHERE e.type = $1 AND e.global_position > $2 AND e.global_position <= $3`, [POSTING, from, to]);
    onProgress({ phase: 'replay', done: to, total, unit: 'events' });
  }
}
