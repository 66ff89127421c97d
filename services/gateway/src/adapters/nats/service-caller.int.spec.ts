import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { natsNames } from '@meterflow/contracts';
import { currentMessageContext, DomainError, withMessageContext } from '@meterflow/kernel';
import { encodeJson, MeterflowTransport } from '@meterflow/messaging';
import { connectTestNats, testNamespace } from '@meterflow/testing';
import { batchedSubjects, NatsServiceCaller } from './service-caller.js';

/**
 * The gateway's calls of one op made in the same event-loop turn travel as one batched request
 * (`mf.rpc.<service>.<op>.batch`), which the services' transport answers line by line; each call
 * keeps its own outcome. A responder without the batched form (a replica from before it) still
 * gets every call, one by one.
 */
describe('NatsServiceCaller batches against MeterflowTransport', () => {
  const names = natsNames(testNamespace());
  let nc: NatsConnection;
  let server: MeterflowTransport;
  const seen: string[] = [];

  beforeAll(async () => {
    nc = await connectTestNats();
    server = new MeterflowTransport({ nc, names, service: 'meter-ingestion' });
    server.addHandler(
      'things.create',
      async (data: { n: number }) => {
        if (data.n % 3 === 2) throw new DomainError('parameter_invalid_integer', `n=${data.n} is refused`, { param: 'n' });
        await new Promise((r) => setTimeout(r, 5 * (data.n % 4))); // answers in another order than asked
        return { object: 'thing', n: data.n, text: 'a\nb "c"' };
      },
      false,
    );
    server.addHandler('big.get', async () => ({ text: 'x'.repeat(100_000) }), false);
    server.addHandler('ctx.get', async (data: { n: number }) => ({ n: data.n, ...currentMessageContext() }), false);
    nc.subscribe(names.rpcBatchSubject('meter-ingestion', 'ctx.get'), { callback: () => void seen.push('ctx batch') });
    server.addHandler('huge.get', async () => ({ text: 'x'.repeat(1_100_000) }), false);
    await new Promise<void>((resolve) => server.listen(() => resolve()));
    // Count what arrives on the two subjects (no queue group: a spy beside the server).
    nc.subscribe(names.rpcSubject('meter-ingestion', 'things.create'), { callback: () => void seen.push('single') });
    nc.subscribe(names.rpcBatchSubject('meter-ingestion', 'things.create'), { callback: () => void seen.push('batch') });
    await nc.flush();
  });

  afterAll(async () => {
    await server?.close();
    await nc?.close();
  });

  it('sends the calls of one turn as one message and hands each call its own reply or error', async () => {
    seen.length = 0;
    const caller = new NatsServiceCaller(nc, names, 30_000, new Set([names.rpcSubject('meter-ingestion', 'things.create')]));
    const calls = Array.from({ length: 40 }, (_, n) =>
      caller.callRaw('meter-ingestion', 'things.create', JSON.stringify({ n })).then(
        (text) => JSON.parse(text) as { n: number; text: string },
        (e: unknown) => e,
      ),
    );
    const out = await Promise.all(calls);
    out.forEach((r, n) => {
      if (n % 3 === 2) {
        expect(r).toBeInstanceOf(DomainError);
        expect((r as DomainError).toShape()).toMatchObject({
          code: 'parameter_invalid_integer',
          message: `n=${n} is refused`,
          status: 400,
        });
      } else expect(r).toEqual({ object: 'thing', n, text: 'a\nb "c"' });
    });
    await nc.flush();
    expect(seen).toEqual(['batch']);
    caller.close();
  });

  it('sends the calls of an op not marked `batched` one by one (its replies may be large)', async () => {
    seen.length = 0;
    const caller = new NatsServiceCaller(nc, names);
    const out = await Promise.all(
      [0, 1, 3].map((n) => caller.callRaw('meter-ingestion', 'things.create', JSON.stringify({ n })).then((t) => JSON.parse(t) as unknown)),
    );
    expect(out).toHaveLength(3);
    await nc.flush();
    expect(seen).toEqual(['single', 'single', 'single']);
    caller.close();
    // The routes marked in API_ROUTES: the meter-event writes, nothing that lists or reads.
    expect([...batchedSubjects(names)].map((s) => s.slice(names.rpcSubject('meter-ingestion', '').length)).sort()).toEqual([
      'meter_event_adjustments.create',
      'meter_events.create',
      'v2.meter_event_adjustments.create',
      'v2.meter_event_stream.create',
      'v2.meter_events.create',
    ]);
  });

  it("carries each call's headers (correlation, trace context) on its line of the batch", async () => {
    seen.length = 0;
    const caller = new NatsServiceCaller(nc, names, 30_000, new Set([names.rpcSubject('meter-ingestion', 'ctx.get')]));
    const out = await Promise.all(
      [1, 2, 3].map((n) =>
        withMessageContext({ correlationId: `corr_${n}`, causationId: `cause_${n}` }, () =>
          caller.callRaw('meter-ingestion', 'ctx.get', JSON.stringify({ n })).then((t) => JSON.parse(t) as unknown),
        ),
      ),
    );
    expect(out).toEqual([1, 2, 3].map((n) => ({ n, correlationId: `corr_${n}`, causationId: `cause_${n}` })));
    await nc.flush();
    expect(seen).toEqual(['ctx batch']);
    caller.close();
  });

  it('serves a single request as before', async () => {
    const r = await nc.request(names.rpcSubject('meter-ingestion', 'things.create'), JSON.stringify({ n: 4 }));
    expect(r.json()).toEqual({ ok: true, result: { object: 'thing', n: 4, text: 'a\nb "c"' } });
  });

  it('answers a batch line by line, a line that is not JSON with its own error', async () => {
    const r = await nc.request(names.rpcBatchSubject('meter-ingestion', 'things.create'), ['{"n":1}', '{"n":', '{"n":2}'].join('\n'));
    const lines = r
      .string()
      .split('\n')
      .map((l) => JSON.parse(l) as { ok: boolean; error?: { status: number } });
    expect(lines).toHaveLength(3);
    expect(lines[0]).toEqual({ ok: true, result: { object: 'thing', n: 1, text: 'a\nb "c"' } });
    expect(lines[1]).toMatchObject({ ok: false, error: { type: 'api_error', status: 500 } });
    expect(lines[2]).toMatchObject({ ok: false, error: { code: 'parameter_invalid_integer', status: 400 } });
  });

  it('answers every line with an error at once when the batch reply is too large for one message', async () => {
    const t = Date.now();
    const r = await nc.request(names.rpcBatchSubject('meter-ingestion', 'big.get'), Array.from({ length: 20 }, () => '{}').join('\n'), {
      timeout: 5_000,
    });
    const lines = r
      .string()
      .split('\n')
      .map((l) => JSON.parse(l) as { ok: boolean; error?: { status: number } });
    expect(lines).toHaveLength(20);
    for (const l of lines) expect(l).toMatchObject({ ok: false, error: { status: 500 } });
    expect(Date.now() - t).toBeLessThan(5_000);
  });

  it('answers a single request whose result is too large for one message with an error at once', async () => {
    const r = await nc.request(names.rpcSubject('meter-ingestion', 'huge.get'), '{}', { timeout: 5_000 });
    expect(r.json()).toMatchObject({ ok: false, error: { type: 'api_error', status: 500 } });
  });

  it('refuses to serve an op whose name ends like the batched form', () => {
    const t = new MeterflowTransport({ nc, names, service: 'rating' });
    t.addHandler('things.batch', async () => ({}), false);
    expect(() => t.listen(() => undefined)).toThrow(/may not end with "\.batch"/);
  });

  it('falls back to one request per call when no responder serves the batched form', async () => {
    const op = 'legacy.op';
    const sub = nc.subscribe(names.rpcSubject('rating', op), {
      queue: 'rating',
      callback: (_e, msg) => void msg.respond(encodeJson({ ok: true, result: { echo: (msg.json() as { n: number }).n } })),
    });
    await nc.flush();
    const caller = new NatsServiceCaller(nc, names, 30_000, new Set([names.rpcSubject('rating', op)]));
    for (let round = 0; round < 2; round++) {
      const out = await Promise.all(
        Array.from({ length: 5 }, (_, n) => caller.callRaw('rating', op, JSON.stringify({ n })).then((t) => JSON.parse(t) as unknown)),
      );
      expect(out).toEqual([0, 1, 2, 3, 4].map((n) => ({ echo: n })));
    }
    caller.close();
    sub.unsubscribe();
  });
});
