import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@meterflow/testing';
import { STRIPE_EVENT_ANNOUNCED } from '@meterflow/contracts';
import { DomainError } from '@meterflow/kernel';
import {
  announceStripeEvent,
  announcementRenderer,
  CommandPipeline,
  eventStoreMigration,
  PgEventStore,
  type AggregateType,
  type AnnouncedFacts,
  type StripeEventAnnouncement,
  type StripeEventRendering,
} from './index.js';

// A counter: created, then added to; adding a negative amount is refused. Its Stripe events are
// announced per event (`counter.*`) and, on a second type, once per command with `since`.
type CounterEvent = { type: 'Created'; data: { name: string } } | { type: 'Added'; data: { n: number } };
type CounterCommand = { type: 'Create'; name: string } | { type: 'Add'; n: number } | { type: 'AddTwice'; n: number };
type Counter = { name: string; total: number; adds: number[] } | null;

const decider = {
  initialState: (): Counter => null,
  decide(c: CounterCommand, s: Counter): CounterEvent[] {
    if (c.type === 'Create') return s ? [] : [{ type: 'Created', data: { name: c.name } }];
    if (!s) throw new DomainError('resource_missing', 'No such counter', { status: 404 });
    if (c.n < 0) throw new DomainError('parameter_invalid_integer', 'n must be positive');
    const add: CounterEvent = { type: 'Added', data: { n: c.n } };
    return c.type === 'AddTwice' ? [add, add] : [add];
  },
  evolve(s: Counter, e: CounterEvent): Counter {
    if (e.type === 'Created') return { name: e.data.name, total: 0, adds: [] };
    return s ? { ...s, total: s.total + e.data.n, adds: [...s.adds, e.data.n] } : s;
  },
};

const perEvent: AggregateType<Counter, CounterCommand, CounterEvent> = {
  name: 'counter',
  streamId: (id) => `counter-${id}`,
  decider,
  announce: ({ event, after }, ctx) => (after ? [announceStripeEvent(`counter.${event.type.toLowerCase()}`, 1_000, ctx)] : []),
};
const perCommand: AggregateType<Counter, CounterCommand, CounterEvent> = {
  name: 'tally',
  streamId: (id) => `tally-${id}`,
  decider,
  announceChange: ({ since }, ctx) => [announceStripeEvent('tally.updated', 2_000, ctx, since)],
};

// Everything the renderer is handed shows in the object: the states on both sides and the event.
const rendering = (prefix: string): StripeEventRendering<Counter, CounterEvent> => ({
  renders: (t) => t.startsWith(`${prefix}.`),
  aggregate: { name: prefix, decider },
  render: (_type, { before, after, event }) => ({
    object: { object: prefix, before, after, event: event.type, n: event.type === 'Added' ? event.data.n : null },
    previousAttributes: { total: before?.total ?? null },
  }),
});
const renderings = [rendering('counter'), rendering('tally')];

const SCHEMA = 'announce_test';
let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  await pool.query(eventStoreMigration(SCHEMA).sql);
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/** Every announcement stored in the schema, in order. */
async function announcements(): Promise<StripeEventAnnouncement[]> {
  const { rows } = await pool.query<{ stream_id: string; stream_position: number; data: AnnouncedFacts }>(
    `SELECT stream_id, stream_position, data FROM ${SCHEMA}.events WHERE type = $1 ORDER BY global_position`,
    [STRIPE_EVENT_ANNOUNCED],
  );
  return rows.map((r) => ({ streamId: r.stream_id, streamPosition: r.stream_position, data: r.data }));
}

describe('rendering announcements from the changes just appended (RecentAnnouncements)', () => {
  it('renders every announcement as its stream does, from the states the units appended', async () => {
    const writer = new PgEventStore(pool, SCHEMA);
    const pipe = new CommandPipeline(writer);
    for (const t of [perEvent, perCommand]) {
      await pipe.handle(t, 'a', { type: 'Create', name: 'a' });
      await pipe.handle(t, 'a', { type: 'AddTwice', n: 2 });
      // a batch: the refused command is undone (checkpoint), the others stand
      const results = await pipe.handleMany(t, [
        { id: 'a', command: { type: 'Add', n: 3 } },
        { id: 'b', command: { type: 'Create', name: 'b' } },
        { id: 'a', command: { type: 'Add', n: -1 } },
        { id: 'b', command: { type: 'AddTwice', n: 4 } },
      ]);
      expect(results.map((r) => r.ok)).toEqual([true, true, false, true]);
      // two commands on one stream in one unit
      await pipe.run(async (uow) => {
        await uow.execute(t, 'a', { type: 'Add', n: 5 });
        await uow.execute(t, 'a', { type: 'AddTwice', n: 6 });
      });
    }
    // units that fail: before their append (nothing remembered), and after it (a projection
    // failing): rolled back, their announcements never stored
    await expect(
      pipe.run(async (uow) => {
        await uow.execute(perEvent, 'a', { type: 'Add', n: 7 });
        throw new Error('after deciding');
      }),
    ).rejects.toThrow('after deciding');
    const failing = {
      ...perEvent,
      project: async () => {
        throw new Error('projection failed');
      },
    };
    await expect(pipe.handle(failing, 'a', { type: 'Add', n: 8 })).rejects.toThrow('projection failed');

    const all = await announcements();
    // per event: 1 + 2 + 1 + 1 + 2 + 1 + 2 on the counter streams; per command: one for each of the 7 on the tally streams
    expect(all.filter((a) => a.data.type.startsWith('counter.'))).toHaveLength(10);
    expect(all.filter((a) => a.data.type === 'tally.updated')).toHaveLength(7);
    expect(all.filter((a) => a.data.since !== undefined)).toHaveLength(7);

    // The reference: another process's store (nothing remembered), which folds the streams.
    const reader = new PgEventStore(pool, SCHEMA);
    const fromStreams = await announcementRenderer(reader, renderings).render(all);
    expect(reader.recentAnnouncements.misses).toBe(all.length);

    const fromRecent = await announcementRenderer(writer, renderings).render(all);
    expect(writer.recentAnnouncements.hits).toBe(all.length);
    expect(fromRecent).toEqual(fromStreams);
    // each entry is rendered once: the rolled-back unit's entry is what is left
    expect(writer.recentAnnouncements.size).toBe(1);

    // rendered again (the relay retrying a batch): from the streams, the same text
    expect(await announcementRenderer(writer, renderings).render(all)).toEqual(fromStreams);
    expect(writer.recentAnnouncements.misses).toBe(all.length);

    // spot checks that the reference is what the commands did
    const last = all.findLastIndex((a) => a.streamId === 'tally-a');
    const { object } = (JSON.parse(fromStreams[last]!) as { data: { object: { before: Counter; after: Counter; n: number } } }).data;
    expect(object.before).toEqual({ name: 'a', total: 12, adds: [2, 2, 3, 5] });
    expect(object.after?.adds).toEqual([2, 2, 3, 5, 6, 6]);
    expect(object.n).toBe(6);
  });

  it('keeps the newest entries up to its capacity; an evicted one renders from its stream', async () => {
    const writer = new PgEventStore(pool, SCHEMA, { recentAnnouncements: 2 });
    const pipe = new CommandPipeline(writer);
    await pipe.handle(perEvent, 'c', { type: 'Create', name: 'c' });
    await pipe.handle(perEvent, 'c', { type: 'AddTwice', n: 1 });
    const mine = (await announcements()).filter((a) => a.streamId === 'counter-c');
    expect(mine).toHaveLength(3);
    expect(writer.recentAnnouncements.size).toBe(2);
    const texts = await announcementRenderer(writer, renderings).render(mine);
    expect([writer.recentAnnouncements.hits, writer.recentAnnouncements.misses]).toEqual([2, 1]);
    expect(texts).toEqual(await announcementRenderer(new PgEventStore(pool, SCHEMA), renderings).render(mine));
    // none kept at all
    const none = new PgEventStore(pool, SCHEMA, { recentAnnouncements: 0 });
    await new CommandPipeline(none).handle(perEvent, 'c', { type: 'Add', n: 1 });
    expect(none.recentAnnouncements.size).toBe(0);
  });
});
