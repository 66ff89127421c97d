import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { ApiRequest } from '@meterflow/contracts';
import { CommandPipeline, PgEventStore } from '@meterflow/event-store';
import { startServiceForTest, type ServiceUnderTest } from '@meterflow/service-kit';
import { createTestDatabase, deleteNamespaceStreams, eventually, testNamespace, type TestDatabase } from '@meterflow/testing';
import { ratingReadModels } from '../src/adapters/persistence/read-models.js';
import { testClockDecider } from '../src/domain/test-clock.decider.js';
import { ratingDefinition } from '../src/rating.definition.js';
import { RatingModule } from '../src/rating.module.js';

/** A clock left `advancing` by a service that stopped mid-advance is finished by the next one. */
describe('test clock advance after a restart', () => {
  let db: TestDatabase;
  const ns = testNamespace();
  const running: ServiceUnderTest[] = [];
  const start = async () => {
    const s = await startServiceForTest(ratingDefinition, RatingModule, {
      databaseUrl: db.url,
      namespace: ns,
      env: { RATING_SCHEDULER_INTERVAL_MS: '0', RATING_CLOCK_PARTICIPANTS: 'rating' },
    });
    running.push(s);
    return s;
  };
  const req = (params: Record<string, unknown>, path: Record<string, string> = {}): ApiRequest => ({
    params,
    path,
    requestId: 'r',
    livemode: false,
  });

  afterAll(async () => {
    const last = running.at(-1);
    if (last) await deleteNamespaceStreams(last.nc, ns).catch(() => {});
    for (const s of running) await s.close().catch(() => {});
    await db?.drop();
  });

  it('resumes at boot', async () => {
    db = await createTestDatabase();
    const first = await start();
    const clock = await first.rpc.request<any>('rating', 'test_clocks.create', req({ frozen_time: '1735689600' }));
    await first.close();
    running.pop();

    // What a crash right after answering `advance` leaves behind: AdvanceStarted, no progress.
    const pool = new pg.Pool({ connectionString: db.url, options: '-c search_path=rating,public' });
    try {
      const models = ratingReadModels(pool);
      const type = { name: 'test_clock', streamId: (id: string) => id, decider: testClockDecider, ...models.testClocks };
      await new CommandPipeline(new PgEventStore(pool, 'rating')).handle(type, clock.id, {
        type: 'StartAdvance',
        frozen_time: 1735689600 + 86400,
        subscriptions: [],
      });
    } finally {
      await pool.end();
    }

    const second = await start();
    const ready = await eventually(async () => {
      const c = await second.rpc.request<any>('rating', 'test_clocks.retrieve', req({}, { id: clock.id }));
      return c.status === 'ready' ? c : undefined;
    }, 15_000);
    expect(ready.frozen_time).toBe(1735689600 + 86400);
  });

  it('waits for a participant that is away (no responders), then finishes: no internal_failure', async () => {
    db ??= await createTestDatabase();
    // The first test's instance sweeps advancing clocks too, with `rating` as its only participant:
    // left running, it could finish this clock without invoicing. One instance here.
    while (running.length) await running.pop()!.close();
    const svc = await startServiceForTest(ratingDefinition, RatingModule, {
      databaseUrl: db.url,
      namespace: ns,
      env: { RATING_SCHEDULER_INTERVAL_MS: '0', RATING_CLOCK_PARTICIPANTS: 'rating,invoicing' },
    });
    running.push(svc);
    const clock = await svc.rpc.request<any>('rating', 'test_clocks.create', req({ frozen_time: '1735689600' }));
    await svc.rpc.request<any>('rating', 'test_clocks.advance', req({ frozen_time: String(1735689600 + 86400) }, { id: clock.id }));
    // Invoicing is not there (crashed, restarting): 503 no responders, for longer than the old three attempts.
    await new Promise((r) => setTimeout(r, 4_000));
    const waiting = await svc.rpc.request<any>('rating', 'test_clocks.retrieve', req({}, { id: clock.id }));
    expect(waiting.status).toBe('advancing');
    // Invoicing is back.
    const subs = [
      svc.nc.subscribe(svc.names.rpcSubject('invoicing', 'clock.next_due'), {
        callback: (_e, m) => {
          m.respond(JSON.stringify({ ok: true, result: { at: null } }));
        },
      }),
      svc.nc.subscribe(svc.names.rpcSubject('invoicing', 'clock.advance_to'), {
        callback: (_e, m) => {
          m.respond(JSON.stringify({ ok: true, result: { done: true } }));
        },
      }),
    ];
    try {
      const ready = await eventually(async () => {
        const c = await svc.rpc.request<any>('rating', 'test_clocks.retrieve', req({}, { id: clock.id }));
        return c.status === 'ready' ? c : undefined;
      }, 15_000);
      expect(ready.frozen_time).toBe(1735689600 + 86400);
    } finally {
      for (const s of subs) s.unsubscribe();
    }
  }, 30_000);
});
