import type pg from 'pg';

/** What `whileHolding` did: ran `fn` (and what it returned), or nothing because another session holds the lock. */
export type Held<T> = { ran: true; value: T } | { ran: false };

/**
 * Runs `fn` while this process holds the Postgres session advisory lock named `key`, or does
 * nothing when another session (another replica, or an overlapping call of this one) holds it.
 * The lock lives on one pooled connection kept for the duration (`fn`'s own queries use others),
 * so a replica that dies lets it go with its connection. One mechanism for work that must run
 * in one place at a time: a scheduler's pass, a clock partition's finalization.
 */
export async function whileHolding<T>(pool: pg.Pool, key: string, fn: () => Promise<T>): Promise<Held<T>> {
  const client = await pool.connect();
  try {
    const got = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [key]);
    if (!got.rows[0]?.ok) return { ran: false };
    try {
      return { ran: true, value: await fn() };
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}
