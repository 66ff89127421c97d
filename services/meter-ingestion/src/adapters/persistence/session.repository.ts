import type pg from 'pg';

/** v2 meter event sessions: the token authenticates `meter_event_stream` for 15 minutes. */
export class SessionRepository {
  private readonly cache = new Map<string, number>();

  constructor(private readonly pool: pg.Pool) {}

  async create(id: string, token: string, created: number, expiresAt: number): Promise<void> {
    await this.pool.query('INSERT INTO meter_event_sessions (id, token, created, expires_at) VALUES ($1, $2, $3, $4)', [
      id,
      token,
      created,
      expiresAt,
    ]);
    this.cache.set(token, expiresAt);
  }

  /** Expiry (unix seconds) of a known token, or undefined. */
  async expiresAt(token: string): Promise<number | undefined> {
    const cached = this.cache.get(token);
    if (cached !== undefined) return cached;
    const { rows } = await this.pool.query<{ expires_at: string }>('SELECT expires_at::text FROM meter_event_sessions WHERE token = $1', [
      token,
    ]);
    const v = rows[0] ? Number(rows[0].expires_at) : undefined;
    if (v !== undefined) this.cache.set(token, v);
    return v;
  }

  async pruneExpired(before: number): Promise<void> {
    await this.pool.query('DELETE FROM meter_event_sessions WHERE expires_at < $1', [before]);
    for (const [t, exp] of this.cache) if (exp < before) this.cache.delete(t);
  }
}
