import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@meterflow/testing';
import { STRIPE_EVENT_ANNOUNCED } from '@meterflow/contracts';
import { DomainError } from '@meterflow/kernel';
import {
  AnnouncedChanges,
  announceStripeEvent,
  announcedChanges,
  announcementRenderer,
  CommandPipeline,
  eventStoreMigration,
  PgEventStore,
  VersionConflictError,
  type AggregateType,
  type StripeEventAnnouncement,
  type StripeEventRendering,
} from './index.js';

// An account whose changes are announced as facts (`StripeEventAnnounced`) and rendered by the relay.
type AccountEvent = { type: 'Opened'; data: { owner: string } } | { type: 'Deposited'; data: { amount: string } };
type AccountCommand = { type: 'Open'; owner: string } | { type: 'Deposit'; amount: bigint };
type Account = { owner: string; balance: bigint } | null;

const decider = {
  initialState: (): Account => null,
  decide(c: AccountCommand, s: Account): AccountEvent[] {
    if (c.type === 'Open') return s ? [] : [{ type: 'Opened', data: { owner: c.owner } }];
    if (!s) throw new DomainError('resource_missing', 'No such account', { status: 404 });
    if (c.amount <= 0n) throw new DomainError('parameter_invalid_integer', 'amount must be positive');
    // A bigint in the decided event, a string once stored: both fold to the same balance.
    return [{ type: 'Deposited', data: { amount: c.amount as unknown as string } }];
  },
  evolve(s: Account, e: AccountEvent): Account {
    if (e.type === 'Opened') return { owner: e.data.owner, balance: 0n };
    return s ? { ...s, balance: s.balance + BigInt(e.data.amount) } : s;
  },
};

const SCHEMA = 'announced_test';
let db: TestDatabase;
let pool: pg.Pool;
let store: PgEventStore;

const account: AggregateType<Account, AccountCommand, AccountEvent> = {
  name: 'account',
  streamId: (id) => `acct-${id}`,
  decider,
  announce: ({ event }, ctx) => [announceStripeEvent(event.type === 'Opened' ? 'account.created' : 'account.updated', 100, ctx)],
  announcesFromMemory: true,
};

let impure = 0;
const rendering = (opts: { impure?: boolean } = {}): StripeEventRendering<Account, AccountEvent> => ({
  renders: (t) => t.startsWith('account.'),
  aggregate: { name: 'account', decider },
  render: (type, { before, after, event }) => ({
    object: {
      owner: after?.owner,
      balance: Number(after?.balance),
      event: event.type,
      ...(opts.impure ? { n: impure++ } : {}),
    },
    ...(type === 'account.updated' ? { previousAttributes: { balance: Number(before?.balance) } } : {}),
  }),
});

/** The stream's announcements, as the relay hands them to the renderer. */
async function announcements(id: string): Promise<StripeEventAnnouncement[]> {
  const stream = await store.readStream(`acct-${id}`);
  return stream
    .filter((e) => e.type === STRIPE_EVENT_ANNOUNCED)
    .map((e) => ({ streamId: e.streamId, streamPosition: e.streamPosition, data: e.data as StripeEventAnnouncement['data'] }));
}

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  await pool.query(eventStoreMigration(SCHEMA).sql);
  store = new PgEventStore(pool, SCHEMA);
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

describe('AnnouncedChanges', () => {
  it('gives an entry once and drops the oldest beyond its capacity', () => {
    const memo = new AnnouncedChanges(2);
    const s = (n: number) => ({ aggregate: 'a', before: n, after: n + 1, event: null });
    memo.put('evt_1', s(1));
    memo.put('evt_2', s(2));
    memo.put('evt_3', s(3));
    expect(memo.size).toBe(2);
    expect(memo.take('evt_1')).toBeUndefined();
    expect(memo.take('evt_2')).toEqual(s(2));
    expect(memo.take('evt_2')).toBeUndefined();
    expect(memo.size).toBe(1);
  });
});

describe('announcements rendered from the unit that decided them', () => {
  it('renders a committed announcement from memory, the same text as from its stream, and a repeat from the stream', async () => {
    const pipe = new CommandPipeline(store);
    const memo = announcedChanges(store);
    await pipe.handle(account, 'a1', { type: 'Open', owner: 'ann' });
    await pipe.handle(account, 'a1', { type: 'Deposit', amount: 7n }, { requestId: 'req_1' });
    const facts = await announcements('a1');
    expect(facts.map((f) => f.data.type)).toEqual(['account.created', 'account.updated']);

    const checked = announcementRenderer(store, [rendering()], { check: true });
    const before = { ...memo.rendered };
    const texts = await checked.render(facts);
    expect(memo.rendered.memory - before.memory).toBe(2);
    const updated = JSON.parse(texts[1]!);
    expect(updated).toMatchObject({
      id: facts[1]!.data.id,
      type: 'account.updated',
      data: { object: { owner: 'ann', balance: 7, event: 'Deposited' }, previous_attributes: { balance: 0 } },
      request: { id: 'req_1' },
    });

    // The check keeps the entries; unchecked, the relay takes them; published again (a relay's
    // batch that failed), from the stream: the same text each time.
    const relay = announcementRenderer(store, [rendering()]);
    expect(await relay.render(facts)).toEqual(texts);
    expect(memo.rendered.memory - before.memory).toBe(4);
    expect(await relay.render(facts)).toEqual(texts);
    expect(memo.rendered.stream - before.stream).toBe(2);
  });

  it('keeps only what a unit appended: not an item undone in a batch, not an attempt that lost a version conflict', async () => {
    const pipe = new CommandPipeline(store);
    const memo = announcedChanges(store);
    await pipe.handle(account, 'b1', { type: 'Open', owner: 'bob' });
    await announcementRenderer(store, [rendering()]).render(await announcements('b1'));

    // A batch item undone after it decided (and announced) something.
    const size = memo.size;
    await pipe.run(async (uow) => {
      await uow.preload(account, ['b1']);
      const undo = uow.checkpoint();
      uow.executeLoaded(account, 'b1', { type: 'Deposit', amount: 5n });
      undo();
      uow.executeLoaded(account, 'b1', { type: 'Deposit', amount: 2n });
    });
    expect(memo.size).toBe(size + 1);

    // The first attempt loses to a writer that moved the stream; its announcement is never kept.
    let attempts = 0;
    await pipe.run(async (uow) => {
      await uow.preload(account, ['b1']);
      uow.executeLoaded(account, 'b1', { type: 'Deposit', amount: 3n });
      if (++attempts === 1) await pipe.handle(account, 'b1', { type: 'Deposit', amount: 1n });
    });
    expect(attempts).toBe(2);
    const facts = await announcements('b1');
    const kept = facts.slice(1).map((f) => memo.take(f.data.id));
    expect(kept.map((k) => (k?.after as Account)?.balance)).toEqual([2n, 3n, 6n]);
    expect(memo.size).toBe(size);
  });

  it('keeps nothing of a type that does not announce from memory (a snapshot, jsonb events): its relay reads the stream', async () => {
    const pipe = new CommandPipeline(store);
    const memo = announcedChanges(store);
    const folded = { ...account, announcesFromMemory: undefined };
    const size = memo.size;
    await pipe.handle(folded, 'n1', { type: 'Open', owner: 'ned' });
    expect(memo.size).toBe(size);
    const before = { ...memo.rendered };
    await announcementRenderer(store, [rendering()], { check: true }).render(await announcements('n1'));
    expect(memo.rendered).toEqual({ memory: before.memory, stream: before.stream + 1 });
  });

  it('fails under MF_RENDER_CHECK when memory and stream render differently', async () => {
    const pipe = new CommandPipeline(store);
    await pipe.handle(account, 'c1', { type: 'Open', owner: 'cy' });
    const facts = await announcements('c1');
    const checked = announcementRenderer(store, [rendering({ impure: true })], { check: true });
    // Every time: the relay retrying the batch does not get past it.
    for (let i = 0; i < 2; i++)
      await expect(checked.render(facts)).rejects.toThrow(/MF_RENDER_CHECK: evt_.* rendered from memory differs from its stream/);
    // Without the check the memory's rendering is published.
    await pipe.handle(account, 'c1', { type: 'Deposit', amount: 1n });
    const texts = await announcementRenderer(store, [rendering({ impure: true })]).render((await announcements('c1')).slice(1));
    expect(JSON.parse(texts[0]!).data.object.balance).toBe(1);
  });

  it('a conflict thrown to the caller (runIn) keeps nothing', async () => {
    const pipe = new CommandPipeline(store);
    const memo = announcedChanges(store);
    await pipe.handle(account, 'd1', { type: 'Open', owner: 'di' });
    await announcementRenderer(store, [rendering()]).render(await announcements('d1'));
    const size = memo.size;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await expect(
        pipe.runIn(client, async (uow) => {
          await uow.preload(account, ['d1']);
          uow.executeLoaded(account, 'd1', { type: 'Deposit', amount: 4n });
          await pipe.handle(account, 'd1', { type: 'Deposit', amount: 1n });
        }),
      ).rejects.toBeInstanceOf(VersionConflictError);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(memo.size).toBe(size + 1); // the other writer's deposit only
  });
});
