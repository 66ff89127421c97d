import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { HEADERS, natsNames } from '@meterflow/contracts';
import { DomainError } from '@meterflow/kernel';
import { connectTestNats, testNamespace } from '@meterflow/testing';
import { RpcClient } from './rpc-client.js';
import { encodeJson } from './json.js';

/** Long requests with heartbeats: a live responder may take its time; a dead one is noticed in seconds, not at the timeout. */
describe('RpcClient heartbeats', () => {
  const names = natsNames(testNamespace());
  let nc: NatsConnection;
  beforeAll(async () => {
    nc = await connectTestNats();
  });
  afterAll(async () => {
    await nc?.close();
  });

  /** A responder that beats every 200 ms, and answers after `answerMs` (or never, and stops beating after `dieMs`). */
  const responder = (op: string, behaviour: { answerMs?: number; dieMs?: number }) =>
    nc.subscribe(names.rpcSubject('rating', op), {
      callback: (_err, msg) => {
        const beat = msg.headers?.get(HEADERS.heartbeatSubject);
        expect(msg.headers?.get(HEADERS.heartbeat)).toBe('200');
        const t = setInterval(() => nc.publish(beat!), 200);
        if (behaviour.answerMs !== undefined)
          setTimeout(() => {
            clearInterval(t);
            msg.respond(encodeJson({ ok: true, result: { done: true } }));
          }, behaviour.answerMs);
        if (behaviour.dieMs !== undefined) setTimeout(() => clearInterval(t), behaviour.dieMs);
      },
    });

  it('waits for a responder that keeps beating, past its silence limit', async () => {
    const sub = responder('slow', { answerMs: 12_000 });
    const rpc = new RpcClient(nc, names);
    await expect(rpc.request('rating', 'slow', {}, { timeoutMs: 30_000, heartbeatMs: 200 })).resolves.toEqual({ done: true });
    sub.unsubscribe();
  }, 20_000);

  it('gives up on a responder that stopped beating (died mid-request) long before the timeout: 503', async () => {
    const sub = responder('dies', { dieMs: 500 });
    const rpc = new RpcClient(nc, names);
    const t = Date.now();
    const e = await rpc.request('rating', 'dies', {}, { timeoutMs: 120_000, heartbeatMs: 200 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DomainError);
    expect((e as DomainError).status).toBe(503);
    expect(Date.now() - t).toBeLessThan(13_000);
    sub.unsubscribe();
  }, 20_000);
});
