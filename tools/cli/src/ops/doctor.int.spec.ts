import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { SERVICES } from '@meterflow/contracts';
import { DeadLetterStore, ensureConsumer, ensureStreams } from '@meterflow/messaging';
import { openTestInfra, type TestInfra } from '@meterflow/testing';
import { testConfig } from '../../test/helpers.js';
import { runDoctor } from './doctor.js';
import { runServiceScript } from './service-script.js';

// Runs the services' built migrate.js (`pnpm build` first; `./mf test` does).
describe('meterflow doctor (real Postgres and NATS)', () => {
  let infra: TestInfra;
  beforeAll(async () => {
    infra = await openTestInfra();
  });
  afterAll(async () => {
    await infra.close();
  });

  const byName = (checks: Awaited<ReturnType<typeof runDoctor>>) => Object.fromEntries(checks.map((c) => [c.name, c]));

  it('before the first migrate and boot: says which migrations and streams are missing, and how to fix it', async () => {
    const c = byName(await runDoctor(testConfig(infra.db.url, infra.ns)));
    expect(c.postgres!.status).toBe('ok');
    expect(c.migrations).toMatchObject({ status: 'fail', fix: expect.stringContaining('pnpm migrate') });
    expect(c.migrations!.detail).toContain('credit-ledger (0000_event_store');
    expect(c.nats!.status).toBe('ok');
    expect(c.streams).toMatchObject({ status: 'fail', detail: expect.stringContaining(`${infra.ns.toUpperCase()}_MF_INGEST`) });
  });

  it('once migrated and the streams exist: lag and dead letters are reported with the commands to run', async () => {
    const cfg = testConfig(infra.db.url, infra.ns);
    for (const s of SERVICES)
      expect((await runServiceScript(cfg.root, s, 'migrate', { env: { DATABASE_URL: infra.db.url } })).code).toBe(0);
    await ensureStreams(infra.nc, cfg.names, SERVICES);
    const durable = cfg.names.durable('meter-ingestion', 'ingest');
    await ensureConsumer(infra.nc, cfg.names.ingestStream, { durable, ackWaitMs: 10_000, maxAckPending: 100 });
    const js = jetstream(infra.nc);
    for (let i = 0; i < 5; i++) await js.publish(cfg.names.ingestSubject(), JSON.stringify({ events: [] }));
    await new DeadLetterStore(infra.pool, 'ingestion').record({
      consumer: 'meter-ingestion.ingest',
      subject: 'x',
      data: '{}',
      reason: 'no_meter',
    });

    const c = byName(await runDoctor(cfg, { lagThreshold: 3 }));
    expect(c.migrations).toMatchObject({ status: 'ok', detail: '5 services up to date' });
    expect(c.streams!.status).toBe('ok');
    expect(c['consumer lag']).toMatchObject({ status: 'warn', fix: expect.stringMatching(/^is meter-ingestion running/) });
    expect(c['consumer lag']!.detail).toContain(`${durable} on ${cfg.names.ingestStream}: 5 pending`);
    expect(c['dead letters']).toMatchObject({
      status: 'warn',
      detail: 'ingestion.dead_letters: 1',
      fix: expect.stringContaining('dead-letters list'),
    });
    expect(c['outbox relay']!.status).toBe('ok');
    await (await jetstreamManager(infra.nc)).consumers.delete(cfg.names.ingestStream, durable);
  });

  it('with NATS unreachable: fails it with the fix, skips what depends on it', async () => {
    const c = byName(await runDoctor(testConfig(infra.db.url, infra.ns, { NATS_URL: 'nats://127.0.0.1:1' })));
    expect(c.nats).toMatchObject({ status: 'fail', fix: expect.stringContaining('nats-server') });
    expect(c.jetstream!.status).toBe('skip');
    expect(c.postgres!.status).toBe('ok');
  });
});
