import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, deciderSpec, type TestDatabase } from '@meterflow/testing';
import { stripeEvent } from '@meterflow/contracts';
import { DomainError } from '@meterflow/kernel';
import {
  CommandPipeline,
  eventStoreMigration,
  PgEventStore,
  VersionConflictError,
  withTransaction,
  type AggregateType,
  type Change,
  type Loaded,
} from './index.js';

// A tiny account aggregate: opened, then deposits; a deposit on an unopened account is refused.
type AccountEvent = { type: 'Opened'; data: { owner: string } } | { type: 'Deposited'; data: { amount: number } };
type AccountCommand = { type: 'Open'; owner: string } | { type: 'Deposit'; amount: number };
type Account = { owner: string; balance: number } | null;

const decider = {
  initialState: (): Account => null,
  decide(c: AccountCommand, s: Account): AccountEvent[] {
    switch (c.type) {
      case 'Open':
        return s ? [] : [{ type: 'Opened', data: { owner: c.owner } }];
      case 'Deposit':
        if (!s) throw new DomainError('resource_missing', 'No such account', { status: 404 });
        return [{ type: 'Deposited', data: { amount: c.amount } }];
    }
  },
  evolve(s: Account, e: AccountEvent): Account {
    switch (e.type) {
      case 'Opened':
        return { owner: e.data.owner, balance: 0 };
      case 'Deposited':
        return s ? { ...s, balance: s.balance + Number(e.data.amount) } : s;
      default:
        return s;
    }
  },
};

const SCHEMA = 'pipe_test';
let db: TestDatabase;
let pool: pg.Pool;
let store: PgEventStore;
const projected: Change<Account>[][] = [];

const account = (opts: { snapshot?: boolean } = {}): AggregateType<Account, AccountCommand, AccountEvent> => ({
  name: 'account',
  streamId: (id) => `acct-${id}`,
  decider,
  announce: ({ id, after }, ctx) => [
    stripeEvent(`evt_${id}_${after?.balance ?? 0}`, 'account.updated', { id, ...after }, 1, { requestId: ctx.requestId ?? null }),
  ],
  project: async (tx, changes) => {
    projected.push([...changes]);
    for (const c of changes)
      await tx.query(
        `INSERT INTO ${SCHEMA}.accounts (id, state, version) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, version = EXCLUDED.version`,
        [c.id, JSON.stringify(c.after), c.version],
      );
  },
  ...(opts.snapshot
    ? {
        snapshot: async (q, ids) => {
          const { rows } = await q.query<{ id: string; state: Account; version: number }>(
            `SELECT id, state, version FROM ${SCHEMA}.accounts WHERE id = ANY($1::text[])`,
            [ids],
          );
          return new Map<string, Loaded<Account>>(rows.map((r) => [r.id, { state: r.state, version: r.version }]));
        },
      }
    : {}),
});

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 8 });
  await pool.query(eventStoreMigration(SCHEMA).sql);
  await pool.query(`CREATE TABLE ${SCHEMA}.accounts (id text PRIMARY KEY, state jsonb, version int)`);
  store = new PgEventStore(pool, SCHEMA);
});

afterAll(async () => {
  await pool?.end();
  await new Promise((r) => setTimeout(r, 100));
  await db?.drop();
});

describe('the account decider (deciderSpec)', () => {
  it('opens once, deposits, refuses a deposit on no account', () => {
    deciderSpec(decider)
      .given([])
      .when({ type: 'Open', owner: 'ann' })
      .then([{ type: 'Opened', data: { owner: 'ann' } }]);
    deciderSpec(decider)
      .given([{ type: 'Opened', data: { owner: 'ann' } }])
      .when({ type: 'Open', owner: 'bob' })
      .then([]);
    deciderSpec(decider).given([]).when({ type: 'Deposit', amount: 1 }).then({ code: 'resource_missing' });
    deciderSpec(decider)
      .given([{ type: 'Opened', data: { owner: 'ann' } }])
      .when({ type: 'Deposit', amount: 5 })
      .then((events, after) => expect(after?.balance).toBe(5));
  });
});

describe('CommandPipeline', () => {
  it('handles one command: appends the events with their announcements and projects in the same transaction', async () => {
    const pipe = new CommandPipeline(store);
    const t = account();
    await pipe.handle(t, 'a1', { type: 'Open', owner: 'ann' });
    const r = await pipe.handle(t, 'a1', { type: 'Deposit', amount: 7 }, { requestId: 'req_1' });
    expect(r.state).toEqual({ owner: 'ann', balance: 7 });
    const stream = await store.readStream('acct-a1');
    expect(stream.map((e) => e.type)).toEqual(['Opened', 'StripeEventEmitted', 'Deposited', 'StripeEventEmitted']);
    expect(stream[3]!.data.request.id).toBe('req_1');
    const row = await pool.query(`SELECT state, version FROM ${SCHEMA}.accounts WHERE id = 'a1'`);
    expect(row.rows[0]).toEqual({ state: { owner: 'ann', balance: 7 }, version: 4 });
  });

  it('handles a batch: one load, a refused command fails alone, one append for the rest', async () => {
    const pipe = new CommandPipeline(store);
    const t = account();
    projected.length = 0;
    const results = await pipe.handleMany(t, [
      { id: 'b1', command: { type: 'Open', owner: 'x' } },
      { id: 'b2', command: { type: 'Deposit', amount: 3 } },
      { id: 'b1', command: { type: 'Deposit', amount: 4 } },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[1]!.ok === false && results[1]!.error).toBeInstanceOf(DomainError);
    expect(projected).toHaveLength(1);
    expect(projected[0]!.map((c) => [c.id, c.after, c.version])).toEqual([['b1', { owner: 'x', balance: 4 }, 4]]);
    expect(await store.readStream('acct-b2')).toEqual([]);
  });

  it('retries the unit when another writer moved a stream, and gives up after its attempts', async () => {
    const t = account();
    const pipe = new CommandPipeline(store);
    await pipe.handle(t, 'c1', { type: 'Open', owner: 'c' });
    let runs = 0;
    await pipe.run(async (uow, attempt) => {
      runs++;
      await uow.execute(t, 'c1', { type: 'Deposit', amount: 1 });
      // a concurrent writer lands between our load and our commit, once
      if (attempt === 1) await store.append('acct-c1', 'any', [{ type: 'Deposited', data: { amount: 100 } }]);
    });
    expect(runs).toBe(2);
    expect((await pipe.run((uow) => uow.load(t, 'c1')))?.balance).toBe(101);

    const stubborn = new CommandPipeline(store, { attempts: 2 });
    await expect(
      stubborn.run(async (uow) => {
        await uow.execute(t, 'c1', { type: 'Deposit', amount: 1 });
        await store.append('acct-c1', 'any', [{ type: 'Deposited', data: { amount: 1 } }]);
      }),
    ).rejects.toBeInstanceOf(VersionConflictError);

    // attempts per unit: one try, no retry
    let tries = 0;
    await expect(
      pipe.run(
        async (uow) => {
          tries++;
          await uow.execute(t, 'c1', { type: 'Deposit', amount: 1 });
          await store.append('acct-c1', 'any', [{ type: 'Deposited', data: { amount: 1 } }]);
        },
        {},
        { attempts: 1 },
      ),
    ).rejects.toBeInstanceOf(VersionConflictError);
    expect(tries).toBe(1);
  });

  it('runs the unit again on a failure `retryOn` names (a concurrent winner), within the same attempts', async () => {
    const pipe = new CommandPipeline(store, { attempts: 3 });
    const lost = Object.assign(new Error('duplicate key'), { code: '23505' });
    const retryOn = (e: unknown) => (e as { code?: string }).code === '23505';
    let runs = 0;
    const unit = async () => {
      if (++runs === 1) throw lost;
      return runs;
    };
    expect(await pipe.run(unit, {}, { retryOn })).toBe(2);
    runs = 0;
    await expect(pipe.run(unit)).rejects.toBe(lost);
    expect(runs).toBe(1);
    // A unit that always loses: three attempts, then the failure.
    let tries = 0;
    await expect(
      pipe.run(
        async () => {
          tries++;
          throw lost;
        },
        {},
        { retryOn },
      ),
    ).rejects.toBe(lost);
    expect(tries).toBe(3);
  });

  it('loads from a snapshot when the type has one, and the snapshot version guards the append', async () => {
    const plain = account();
    const snap = account({ snapshot: true });
    const pipe = new CommandPipeline(store);
    await pipe.handle(plain, 'd1', { type: 'Open', owner: 'd' });
    await pipe.handle(plain, 'd1', { type: 'Deposit', amount: 2 });
    // the snapshot row says balance 2 at version 4: the stream is not read
    await pool.query(`UPDATE ${SCHEMA}.accounts SET state = '{"owner":"d","balance":50}' WHERE id = 'd1'`);
    const r = await pipe.handle(snap, 'd1', { type: 'Deposit', amount: 1 });
    expect(r.state?.balance).toBe(51);
    // a stale snapshot (version behind the stream) fails the append: conflict, retried, then refused
    await pool.query(`UPDATE ${SCHEMA}.accounts SET version = 1 WHERE id = 'd1'`);
    await expect(pipe.handle(snap, 'd1', { type: 'Deposit', amount: 1 })).rejects.toBeInstanceOf(VersionConflictError);
  });

  it('gives the projection what each stream stored, with global positions', async () => {
    const t = account();
    const pipe = new CommandPipeline(store);
    projected.length = 0;
    await pipe.handle(t, 'f1', { type: 'Open', owner: 'f' });
    const [change] = projected[0]!;
    expect(change!.stored.map((e) => [e.type, e.streamPosition])).toEqual([
      ['Opened', 1],
      ['StripeEventEmitted', 2],
    ]);
    const positions = (await store.readStream('acct-f1')).map((e) => e.globalPosition);
    expect(change!.stored.map((e) => e.globalPosition)).toEqual(positions);
  });

  it("runs a unit in the caller's transaction: committed with it, a conflict thrown to the caller", async () => {
    const t = account();
    const pipe = new CommandPipeline(store);
    await pipe.handle(t, 'g1', { type: 'Open', owner: 'g' });
    // the caller's own write (an inbox row) and the unit commit or roll back together
    await expect(
      withTransaction(pool, async (tx) => {
        await tx.query(`INSERT INTO ${SCHEMA}.accounts (id, state, version) VALUES ('inbox-g1', 'null', 0)`);
        await pipe.runIn(tx, async (uow) => {
          await uow.execute(t, 'g1', { type: 'Deposit', amount: 1 });
          await store.append('acct-g1', 'any', [{ type: 'Deposited', data: { amount: 1 } }]);
        });
      }),
    ).rejects.toBeInstanceOf(VersionConflictError);
    expect((await pool.query(`SELECT 1 FROM ${SCHEMA}.accounts WHERE id = 'inbox-g1'`)).rowCount).toBe(0);
    await withTransaction(pool, (tx) => pipe.runIn(tx, (uow) => uow.execute(t, 'g1', { type: 'Deposit', amount: 2 })));
    expect((await pipe.run((uow) => uow.load(t, 'g1')))?.balance).toBe(3);
  });

  it('reads outside a unit, and a unit adopts what was read (no second read; stale adopted state is a conflict, retried afresh)', async () => {
    const t = account();
    const pipe = new CommandPipeline(store);
    await pipe.handle(t, 'h1', { type: 'Open', owner: 'h' });
    const read = await pipe.read(t, ['h1', 'h2', 'h1']);
    expect([...read]).toEqual([
      ['h1', { state: { owner: 'h', balance: 0 }, version: 2 }],
      ['h2', { state: null, version: 0 }],
    ]);
    // adopted as read: the unit decides on it without reading the stream
    const head = await pipe.run(async (uow, attempt) => {
      if (attempt === 1) uow.adopt(t, read);
      await uow.execute(t, 'h1', { type: 'Deposit', amount: 3 });
      return uow.head(t, 'h1');
    });
    // the head is where the stream stands after the commit: adopted by the next unit, no read and no conflict
    expect(head).toEqual({ state: { owner: 'h', balance: 3 }, version: 4 });
    const next = await pipe.run(async (uow, attempt) => {
      if (attempt === 1) uow.adopt(t, new Map([['h1', head]]));
      return { attempt, ...(await uow.execute(t, 'h1', { type: 'Deposit', amount: 0 })) };
    });
    expect(next).toMatchObject({ attempt: 1, state: { balance: 3 } });
    // what was read is stale now: the first attempt conflicts, the second reads afresh
    const attempts: number[] = [];
    const again = await pipe.run(async (uow, attempt) => {
      attempts.push(attempt);
      if (attempt === 1) uow.adopt(t, read);
      return uow.execute(t, 'h1', { type: 'Deposit', amount: 1 });
    });
    expect(attempts).toEqual([1, 2]);
    expect(again.state?.balance).toBe(4);
  });

  it('announces once per command with announceChange (the whole change), after its events', async () => {
    const pipe = new CommandPipeline(store);
    // a command deciding two events: open and deposit at once
    const twice: AggregateType<Account, AccountCommand | { type: 'OpenWith'; owner: string; amount: number }, AccountEvent> = {
      ...account(),
      name: 'account2',
      streamId: (id) => `acct2-${id}`,
      decider: {
        ...decider,
        decide: (c, s) =>
          c.type === 'OpenWith'
            ? [
                { type: 'Opened', data: { owner: c.owner } },
                { type: 'Deposited', data: { amount: c.amount } },
              ]
            : decider.decide(c, s),
      },
      announce: undefined,
      announceChange: ({ id, command, events, before, after }) => [
        stripeEvent(`evt_${id}_change`, 'account.changed', { id, command: command.type, events: events.length, before, after }, 1, {}),
      ],
    };
    await pipe.handle(twice, 'm1', { type: 'OpenWith', owner: 'm', amount: 3 });
    const stream = await store.readStream('acct2-m1');
    expect(stream.map((e) => e.type)).toEqual(['Opened', 'Deposited', 'StripeEventEmitted']);
    expect(stream[2]!.data.data.object).toEqual({
      id: 'm1',
      command: 'OpenWith',
      events: 2,
      before: null,
      after: { owner: 'm', balance: 3 },
    });
    // a command that decides nothing announces nothing
    await pipe.handle(twice, 'm1', { type: 'Open', owner: 'again' });
    expect(await store.readStream('acct2-m1')).toHaveLength(3);
  });

  it('adopts states read before the unit; a stream that moved since is named in `conflicted` and left out', async () => {
    const t = account({ snapshot: true });
    const pipe = new CommandPipeline(store);
    for (const id of ['k1', 'k2', 'k3']) await pipe.handle(t, id, { type: 'Open', owner: id });
    const before = await t.snapshot!(pool, ['k1', 'k2', 'k3']);
    // slow work outside the transaction; meanwhile another writer moves f2
    await pipe.handle(t, 'k2', { type: 'Deposit', amount: 100 });
    const runs: string[][] = [];
    await pipe.run(async (uow, _attempt, conflicted) => {
      runs.push([...conflicted]);
      const keep = new Map([...before].filter(([id]) => !conflicted.has(t.streamId(id))));
      uow.adopt(t, keep);
      for (const id of keep.keys()) uow.executeLoaded(t, id, { type: 'Deposit', amount: 1 });
    });
    expect(runs).toEqual([[], ['acct-k2']]);
    const rows = await pool.query(`SELECT id, state->>'balance' AS b FROM ${SCHEMA}.accounts WHERE id LIKE 'k%' ORDER BY id`);
    expect(rows.rows).toEqual([
      { id: 'k1', b: '1' },
      { id: 'k2', b: '100' },
      { id: 'k3', b: '1' },
    ]);
    // a unit may ask for more attempts than the pipeline's default
    const plain = account();
    let n = 0;
    await expect(
      new CommandPipeline(store, { attempts: 1 }).run(
        async (uow) => {
          n++;
          await uow.execute(plain, 'k1', { type: 'Deposit', amount: 1 });
          if (n < 3) await store.append('acct-k1', 'any', [{ type: 'Deposited', data: { amount: 0 } }]);
        },
        {},
        { attempts: 3 },
      ),
    ).resolves.toBeUndefined();
    expect(n).toBe(3);
  });

  it('records facts on a stream no type owns, all or nothing with the rest', async () => {
    const t = account();
    const pipe = new CommandPipeline(store);
    await pipe.run(async (uow) => {
      await uow.execute(t, 'e1', { type: 'Open', owner: 'e' });
      uow.record('key-e1', 'no_stream', [{ type: 'Opened', data: { owner: 'key' } }]);
    });
    await expect(
      pipe.run(async (uow) => {
        await uow.execute(t, 'e2', { type: 'Open', owner: 'e' });
        uow.record('key-e1', 'no_stream', [{ type: 'Opened', data: { owner: 'key' } }]); // taken
      }),
    ).rejects.toBeInstanceOf(VersionConflictError);
    expect(await store.readStream('acct-e2')).toEqual([]);
  });
});
