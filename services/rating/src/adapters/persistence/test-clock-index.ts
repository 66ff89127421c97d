import type pg from 'pg';
import { listSql, type ListParams, type StripeList } from '@meterflow/stripe-api';
import type { TestClockIndex } from '../../application/ports.js';
import type { TestClockState } from '../../domain/test-clock.decider.js';

/** The `test_clocks` read model for lists and the advance loop's resume, and the loop's lock (a session advisory lock). */
export class PgTestClockIndex implements TestClockIndex {
  constructor(private readonly pool: pg.Pool) {}

  async list(lp: ListParams): Promise<StripeList<TestClockState>> {
    const page = listSql(lp);
    const { rows } = await this.pool.query<{ state: TestClockState }>(
      `SELECT state FROM test_clocks WHERE NOT deleted${page.where ? ` AND ${page.where}` : ''} ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
      page.args,
    );
    return page.finish(
      rows.map((r) => r.state),
      '/v1/test_helpers/test_clocks',
    );
  }

  async advancingIds(): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(`SELECT id FROM test_clocks WHERE status = 'advancing' AND NOT deleted`);
    return rows.map((r) => r.id);
  }

  async exclusively(clock: string, fn: () => Promise<void>): Promise<void> {
    const client = await this.pool.connect();
    try {
      // Another replica holding it is advancing this clock (or just finishing: try a few times).
      let locked = false;
      for (let i = 0; i < 5 && !locked; i++) {
        if (i) await new Promise((r) => setTimeout(r, 200));
        const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [`rating-clock-${clock}`]);
        locked = rows[0]?.ok === true;
      }
      if (!locked) return;
      try {
        await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`rating-clock-${clock}`]).catch(() => undefined);
      }
    } finally {
      client.release();
    }
  }
}
