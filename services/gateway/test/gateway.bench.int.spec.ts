import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startServiceForTest } from '@meterflow/service-kit';
import { connectTestNats, createTestDatabase, deleteNamespaceStreams, testNamespace } from '@meterflow/testing';
import { gatewayDefinition } from '../src/gateway.definition.js';
import { GatewayModule } from '../src/gateway.module.js';

/**
 * Gateway throughput for POST /v1/billing/meter_events against a trivial meter-ingestion
 * responder (measures the gateway's own cost: HTTP, decoding, idempotency in Postgres, NATS).
 * Opt-in: MF_BENCH=1 pnpm vitest run services/gateway/test/gateway.bench.int.spec.ts
 */
describe.skipIf(!process.env.MF_BENCH)('gateway throughput', () => {
  it('POST /v1/billing/meter_events', { timeout: 120_000 }, async () => {
    const db = await createTestDatabase('mf_gwbench');
    const namespace = testNamespace();
    const nc = await connectTestNats();
    const sub = nc.subscribe(`${namespace}.mf.rpc.meter_ingestion.meter_events.create`, {
      callback: (_e, msg) => {
        const req = msg.json<{ params: { event_name: string; payload: unknown; identifier: string } }>();
        const p = req.params;
        msg.respond(
          JSON.stringify({
            ok: true,
            result: {
              object: 'billing.meter_event',
              created: 1,
              event_name: p.event_name,
              identifier: p.identifier,
              livemode: false,
              payload: p.payload,
              timestamp: 1,
            },
          }),
        );
      },
    });
    const gw = await startServiceForTest(gatewayDefinition, GatewayModule, {
      databaseUrl: db.url,
      namespace,
      env: { LOG_LEVEL: 'error' },
    });
    try {
      // MF_BENCH_PROFILE=<file>: CPU profile of this process (gateway + responder) during the run.
      const profile = process.env.MF_BENCH_PROFILE;
      const session = profile ? new Session() : undefined;
      if (session) {
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.start');
      }
      const cpu0 = process.cpuUsage();
      const script = fileURLToPath(new URL('../bench/meter-events.autocannon.mjs', import.meta.url));
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, [
          script,
          gw.url,
          process.env.MF_BENCH_SECONDS ?? '10',
          process.env.MF_BENCH_CONNECTIONS ?? '64',
        ]);
        let text = '';
        child.stdout.on('data', (d: Buffer) => (text += d.toString()));
        child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
        child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`autocannon exited ${code}`))));
      });
      if (session && profile) {
        const { profile: p } = await session.post('Profiler.stop');
        writeFileSync(profile, JSON.stringify(p));
        session.disconnect();
      }
      const cpu = process.cpuUsage(cpu0);
      const r = JSON.parse(out.trim().split('\n').at(-1)!) as { rps: number; total: number; non2xx: number };
      // CPU of this process (gateway + the trivial responder) per request: stable under a busy box.
      const cpuPerRequestUs = Math.round((cpu.user + cpu.system) / r.total);
      console.log(`gateway bench: ${out.trim()} cpu_us_per_request=${cpuPerRequestUs}`);
      expect(r.non2xx).toBe(0);
    } finally {
      sub.unsubscribe();
      await gw.close();
      await deleteNamespaceStreams(nc, namespace);
      await nc.drain();
      await db.drop();
    }
  });
});
