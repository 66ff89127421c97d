import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
// @ts-expect-error plain ESM script shared with `pnpm start`
import { startStack } from '../../scripts/stack.mjs';
import { createTestDatabase, connectTestNats, deleteNamespaceStreams } from '@meterflow/testing';
import { startOtlpReceiver } from './otlp-receiver.js';

declare module 'vitest' {
  export interface ProvidedContext {
    apiUrl: string;
    apiPort: number;
    namespace: string;
    natsUrl: string;
    apiKey: string;
    databaseUrl: string;
    otlpUrl: string;
  }
}

/** The whole system as processes, in its own database and NATS namespace, on shifted ports. */
export default async function setup(project: TestProject) {
  const db = await createTestDatabase('mf_e2e');
  const namespace = `e2e${randomBytes(4).toString('hex')}`;
  const apiKey = 'sk_test_e2e';
  // Every service exports its spans here (traces.e2e.spec.ts reads them).
  const otlp = await startOtlpReceiver();
  const stack = await startStack({
    databaseUrl: db.url,
    portOffset: 'free',
    build: false,
    quiet: true,
    env: {
      MF_NAMESPACE: namespace,
      MF_API_KEYS: apiKey,
      LOG_LEVEL: 'warn',
      // Every Stripe event rendered from a unit's memory is rendered from its stream too and compared.
      MF_RENDER_CHECK: 'true',
      INVOICE_FINALIZATION_GRACE_SECONDS: '3600',
      SCHEDULER_INTERVAL_MS: '1000',
      // Webhook retries compressed: 0.5 s, 1 s, 2 s, ... (Stripe's 1 min ... 3 days).
      MF_WEBHOOK_RETRY_FIRST_MS: '500',
      MF_WEBHOOK_POLL_MS: '200',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_BSP_SCHEDULE_DELAY: '200',
    },
  });
  project.provide('apiUrl', stack.apiUrl);
  project.provide('apiPort', stack.gatewayPort);
  project.provide('namespace', namespace);
  project.provide('natsUrl', stack.natsUrl);
  project.provide('apiKey', apiKey);
  project.provide('databaseUrl', stack.databaseUrl);
  project.provide('otlpUrl', otlp.url);
  return async () => {
    await stack.stop();
    await otlp.close();
    const nc = await connectTestNats();
    await deleteNamespaceStreams(nc, namespace).catch(() => {});
    await nc.drain();
    await db.drop();
  };
}
