import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '@meterflow/testing';
import { PeriodicTask, whileHolding } from './index.js';

/** Replicas share work that must run in one place at a time through session advisory locks. */
describe('whileHolding: one holder at a time, across pools (replicas)', () => {
  let db: TestDatabase;
  let a: pg.Pool;
  let b: pg.Pool;

  beforeAll(async () => {
    db = await createTestDatabase();
    a = new pg.Pool({ connectionString: db.url, max: 3 });
    b = new pg.Pool({ connectionString: db.url, max: 3 });
  });

  afterAll(async () => {
    await a.end();
    await b.end();
    await db.drop();
  });

  it('runs in one replica while the other, asked at the same time, does nothing; the lock is free again after', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = whileHolding(a, 'k1', async () => {
      await gate;
      return 'a';
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(await whileHolding(b, 'k1', async () => 'b')).toEqual({ ran: false });
    // Another key is independent.
    expect(await whileHolding(b, 'k2', async () => 'b')).toEqual({ ran: true, value: 'b' });
    release();
    expect(await first).toEqual({ ran: true, value: 'a' });
    expect(await whileHolding(b, 'k1', async () => 'b')).toEqual({ ran: true, value: 'b' });
  });

  it('gives the lock back when the work fails', async () => {
    await expect(whileHolding(a, 'k3', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await whileHolding(b, 'k3', async () => 1)).toEqual({ ran: true, value: 1 });
  });

  it('an exclusive PeriodicTask pass runs in one replica at a time', async () => {
    let inside = 0;
    let most = 0;
    let passes = 0;
    const run = async () => {
      inside++;
      most = Math.max(most, inside);
      await new Promise((r) => setTimeout(r, 50));
      inside--;
      passes++;
    };
    const logger = { warn: () => undefined };
    const tasks = [a, b].map((pool) => new PeriodicTask({ name: 't', everyMs: 0, run, logger, exclusive: { pool, key: 'task' } }));
    await Promise.all(tasks.flatMap((t) => [t.runOnce(), t.runOnce()]));
    expect(most).toBe(1);
    expect(passes).toBeGreaterThanOrEqual(1);
  });
});
