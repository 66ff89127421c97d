import { describe, expect, it } from 'vitest';
import type pg from 'pg';
import { UnitOfWork, type AggregateType } from './command-pipeline.js';
import type { PgEventStore } from './pg-event-store.js';

type Counter = { n: number };
type Add = { type: 'Add'; by: number };
type Added = { type: 'Added'; data: { by: number } };

/** A counter whose every change is announced by one extra fact (so pending counts both). */
const counter: AggregateType<Counter, Add, Added> = {
  name: 'counter',
  streamId: (id) => `counter-${id}`,
  decider: {
    initialState: () => ({ n: 0 }),
    decide: (c) => (c.by === 0 ? [] : [{ type: 'Added', data: { by: c.by } }]),
    evolve: (s, e) => ({ n: s.n + e.data.by }),
  },
  announce: ({ event }) => [{ type: 'Announced', data: { by: event.data.by } }],
};

const unit = () => new UnitOfWork({} as PgEventStore, {} as pg.PoolClient);
const add = (by: number): Add => ({ type: 'Add', by });

describe('UnitOfWork.checkpoint', () => {
  it('undoes what was decided since the mark, on aggregates tracked before and after it, and keeps the rest', () => {
    const uow = unit();
    uow.fresh(counter, ['a', 'b']);
    uow.executeLoaded(counter, 'a', add(1));
    uow.record('fact-1', 'any', [{ type: 'Fact', data: {} }]);
    const undo = uow.checkpoint();
    uow.executeLoaded(counter, 'a', add(2));
    uow.executeLoaded(counter, 'a', add(0)); // decides nothing
    uow.executeLoaded(counter, 'b', add(5));
    uow.fresh(counter, ['c']);
    uow.executeLoaded(counter, 'c', add(7));
    uow.record('fact-2', 'any', [{ type: 'Fact', data: {} }]);
    expect(uow.head(counter, 'a')).toEqual({ state: { n: 3 }, version: 4 });
    undo();
    expect(uow.head(counter, 'a')).toEqual({ state: { n: 1 }, version: 2 });
    expect(uow.head(counter, 'b')).toEqual({ state: { n: 0 }, version: 0 });
    expect(() => uow.head(counter, 'c')).toThrow(/was not loaded/);
    // later work and later checkpoints go on from the restored state
    const again = uow.checkpoint();
    uow.executeLoaded(counter, 'b', add(4));
    const inner = uow.checkpoint();
    uow.executeLoaded(counter, 'b', add(6));
    inner();
    expect(uow.head(counter, 'b')).toEqual({ state: { n: 4 }, version: 2 });
    again();
    expect(uow.head(counter, 'b')).toEqual({ state: { n: 0 }, version: 0 });
    expect(uow.head(counter, 'a')).toEqual({ state: { n: 1 }, version: 2 });
  });

  it('costs what changed since the mark, not what the unit tracks (one checkpoint per item of a big batch)', () => {
    const uow = unit();
    const ids = Array.from({ length: 20_000 }, (_, i) => `x${i}`);
    uow.fresh(counter, ids);
    const t0 = performance.now();
    for (const id of ids) {
      const undo = uow.checkpoint();
      uow.executeLoaded(counter, id, add(1));
      if (id.endsWith('7')) undo();
    }
    // quadratic (a copy of every tracked aggregate per checkpoint) took seconds here
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(uow.head(counter, 'x7').state).toEqual({ n: 0 });
    expect(uow.head(counter, 'x8').state).toEqual({ n: 1 });
  });
});
