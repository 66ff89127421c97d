import type { Type } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { natsNames, type NatsNames } from '@meterflow/contracts';
import { RpcClient, connectNats } from '@meterflow/messaging';
import type { ServiceDefinition } from './definition.js';
import { bootstrapService, type RunningService } from './bootstrap.js';
import { runMigrations } from './migrations.js';

export interface ServiceUnderTest extends RunningService {
  /** A client of the test's own, to call the service exactly as the gateway does. */
  rpc: RpcClient;
  nc: NatsConnection;
  names: NatsNames;
}

/**
 * Migrate a (fresh) database and boot the service in-process on a free port, in its own
 * NATS namespace. Pair with `createTestDatabase()` and `testNamespace()` from @meterflow/testing.
 */
export async function startServiceForTest(
  def: ServiceDefinition,
  appModule: Type<unknown>,
  opts: {
    databaseUrl: string;
    namespace: string;
    env?: Record<string, string>;
    /** NATS credentials of the test's own client (a server with users: the service's are in `env`). */
    clientAuth?: { user: string; password: string };
  },
): Promise<ServiceUnderTest> {
  const env = {
    DATABASE_URL: opts.databaseUrl,
    MF_NAMESPACE: opts.namespace,
    HTTP_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ...opts.env,
  };
  await runMigrations(def, env, [], { log: () => undefined });
  const running = await bootstrapService(def, appModule, env);
  const names = natsNames(opts.namespace);
  const nc = await connectNats({ url: running.config.NATS_URL, name: `test-${def.name}`, ...opts.clientAuth });
  const rpc = new RpcClient(nc, names);
  return {
    ...running,
    rpc,
    nc,
    names,
    async close() {
      await running.close();
      await nc.drain().catch(() => {});
    },
  };
}
