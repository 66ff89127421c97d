import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsNames } from '@meterflow/contracts';
import { connectTestNats, deleteNamespaceStreams, testNamespace } from '@meterflow/testing';
import { ensureStreams, streamConfigs } from './index.js';

let nc: NatsConnection;
let jsm: JetStreamManager;
const namespaces: string[] = [];

beforeAll(async () => {
  nc = await connectTestNats();
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  for (const ns of namespaces) await deleteNamespaceStreams(nc, ns).catch(() => undefined);
  await nc?.close();
});

const fresh = () => {
  const ns = testNamespace();
  namespaces.push(ns);
  return natsNames(ns);
};

describe('ensureStreams replicas (MF_STREAM_REPLICAS)', () => {
  it('creates every stream file-backed with the replicas asked for', async () => {
    const names = fresh();
    await ensureStreams(nc, names, ['rating'], { replicas: 1 });
    for (const cfg of streamConfigs(names, ['rating'])) {
      const info = await jsm.streams.info(cfg.name);
      expect(info.config).toMatchObject({ num_replicas: 1, storage: 'file' });
    }
  });

  it('hands the replicas to the server: a single (non-clustered) nats-server refuses 3', async () => {
    const names = fresh();
    await expect(ensureStreams(nc, names, [], { replicas: 3 })).rejects.toThrow(/replicas > 1 not supported/);
  });

  it('brings an existing stream to the replicas asked for (compared, then updated in place)', async () => {
    const names = fresh();
    await ensureStreams(nc, names, [], { replicas: 1 });
    // nats-server 2.9 accepts an update of num_replicas even standalone, which shows that
    // ensureStreams compared the setting and sent the update; a cluster moves the peers.
    await ensureStreams(nc, names, [], { replicas: 3 });
    expect((await jsm.streams.info(names.eventsStream)).config.num_replicas).toBe(3);
  });
});
