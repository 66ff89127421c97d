import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureStreams } from '@meterflow/messaging';
import { connectTestNats, deleteNamespaceStreams, eventually, TEST_NATS_URL, testNamespace } from '@meterflow/testing';
import { ROOT, testConfig } from '../../test/helpers.js';
import { tailEvents } from './events-tail.js';

/** A Stripe event as the outbox relays publish it on MF_EVENTS. */
const stripeEvent = (n: number | string, type: string, object: Record<string, unknown>) => ({
  id: `evt_tail_${n}`,
  object: 'event',
  type,
  created: 1_800_000_000 + (typeof n === 'number' ? n : 0),
  data: { object },
});

// Every wait below is bounded: a tail that never delivers fails the test instead of hanging it.
describe('meterflow events tail (real NATS JetStream)', () => {
  let nc: NatsConnection;
  const ns = testNamespace();
  const cfg = testConfig('postgres://unused@127.0.0.1:1/unused', ns);
  const publish = (e: ReturnType<typeof stripeEvent>) =>
    jetstream(nc).publish(cfg.names.eventSubject(e.type), JSON.stringify(e), { msgID: e.id });

  beforeAll(async () => {
    nc = await connectTestNats();
    await ensureStreams(nc, cfg.names);
    await publish(stripeEvent(1, 'customer.created', { id: 'cus_1', object: 'customer' }));
    await publish(stripeEvent(2, 'invoice.paid', { id: 'in_1', object: 'invoice', status: 'paid', amount_due: 2000 }));
  });
  afterAll(async () => {
    await deleteNamespaceStreams(nc, ns).catch(() => undefined);
    await nc.close();
  });

  it('follows new events of one type only, starts with the last N when asked, and ends on abort', async () => {
    const seen: string[] = [];
    const stop = new AbortController();
    const tail = tailEvents(cfg, nc, {
      type: 'invoice.*',
      last: 2,
      signal: stop.signal,
      onEvent: (raw) => seen.push((raw as { id: string }).id),
    });
    // The last 2 in the stream, filtered: the invoice only.
    await eventually(async () => (seen.length >= 1 ? true : undefined), 10_000);
    expect(seen).toEqual(['evt_tail_2']);
    await publish(stripeEvent(3, 'customer.updated', { id: 'cus_1', object: 'customer' }));
    await publish(stripeEvent(4, 'invoice.voided', { id: 'in_1', object: 'invoice', status: 'void' }));
    await eventually(async () => (seen.length >= 2 ? true : undefined), 10_000);
    stop.abort();
    await tail;
    expect(seen).toEqual(['evt_tail_2', 'evt_tail_4']);
  });

  it('with no --last it shows only what is published after it starts', async () => {
    const seen: string[] = [];
    const stop = new AbortController();
    const tail = tailEvents(cfg, nc, { signal: stop.signal, onEvent: (raw) => seen.push((raw as { id: string }).id) });
    // The consumer starts at the stream's end once tailEvents has created it: publish (a new id
    // each time) until the first one shows.
    let k = 0;
    await eventually(
      async () => {
        await publish(stripeEvent(`new_${k++}`, 'invoice.finalized', { id: 'in_2', object: 'invoice' }));
        return seen.length ? true : undefined;
      },
      10_000,
      200,
    );
    stop.abort();
    await tail;
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((id) => id.startsWith('evt_tail_new_'))).toBe(true);
  });

  it('the command prints one line per event (and JSON with --json), and exits 0 on SIGINT', async () => {
    const run = (args: string[]) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'tools', 'cli', 'bin', 'meterflow.js'), 'events', 'tail', ...args], {
        env: { ...process.env, NATS_URL: TEST_NATS_URL, MF_NAMESPACE: ns, NO_COLOR: '1', CI: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      return { child, exited, out: () => out, err: () => err };
    };

    const json = run(['invoice.paid', '--last', '100', '--json']);
    const linesOf = (n: number) =>
      eventually(async () => {
        const l = json.out().trim().split('\n').filter(Boolean);
        return l.length >= n ? l : undefined;
      }, 15_000).catch((e) => {
        throw new Error(`${(e as Error).message}; stderr: ${json.err()}`);
      });
    expect((await linesOf(1)).map((l) => JSON.parse(l).id)).toEqual(['evt_tail_2']);
    // Following: a new invoice.paid shows up, other types do not.
    await publish(stripeEvent(5, 'invoice.voided', { id: 'in_2', object: 'invoice' }));
    await publish(stripeEvent(6, 'invoice.paid', { id: 'in_2', object: 'invoice', status: 'paid' }));
    const lines = await linesOf(2);
    expect(lines.map((l) => JSON.parse(l).id)).toEqual(['evt_tail_2', 'evt_tail_6']);
    expect(JSON.parse(lines[0]!)).toEqual(
      stripeEvent(2, 'invoice.paid', { id: 'in_1', object: 'invoice', status: 'paid', amount_due: 2000 }),
    );
    json.child.kill('SIGINT');
    expect(await json.exited).toBe(0);

    const plain = run(['--last', '1']);
    const line = await eventually(
      async () =>
        plain
          .out()
          .split('\n')
          .find((l) => l.includes('evt_tail_')),
      15_000,
    );
    // time (UTC) of `created`, type, event id, object id, a few fields
    expect(line).toMatch(/^2027-01-15T08:00:06Z +invoice\.paid +evt_tail_6 +in_2 +status=paid/);
    plain.child.kill('SIGINT');
    expect(await plain.exited).toBe(0);
  }, 40_000);
});
