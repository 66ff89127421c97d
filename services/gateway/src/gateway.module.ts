import {
  Inject,
  Injectable,
  Module,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type pg from 'pg';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsNames } from '@meterflow/contracts';
import { CLOCK, type Clock } from '@meterflow/kernel';
import { CONFIG, LOGGER, NATS_CONNECTION, NATS_NAMES, PG_POOL, PeriodicTask, type ServiceConfig } from '@meterflow/service-kit';
import type { Logger } from '@meterflow/observability';
import { IDEMPOTENCY_TTL_MS, parseApiKeys } from '@meterflow/stripe-api';
import { IDEMPOTENCY_STORE, PgIdempotencyStore, type IdempotencyStore } from './adapters/persistence/idempotency.store.js';
import { NatsServiceCaller, SERVICE_CALLER, type ServiceCaller } from './adapters/nats/service-caller.js';
import { ApiCallHandler } from './application/api-call.handler.js';
import type { GatewayEnv } from './gateway.definition.js';

type Config = ServiceConfig & GatewayEnv;

/**
 * Deletes idempotency records older than 24 h now and then (never on the request path); on
 * shutdown stores the last responses and stops the service caller.
 */
@Injectable()
class GatewayLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly prune: PeriodicTask;
  constructor(
    @Inject(IDEMPOTENCY_STORE) store: IdempotencyStore,
    @Inject(CONFIG) config: Config,
    @Inject(CLOCK) clock: Clock,
    @Inject(LOGGER) logger: Logger,
    @Inject(SERVICE_CALLER) private readonly caller: ServiceCaller,
    private readonly handler: ApiCallHandler,
  ) {
    this.prune = new PeriodicTask({
      name: 'idempotency prune',
      everyMs: config.MF_IDEMPOTENCY_PRUNE_MS,
      run: () => store.prune(new Date(clock.now().getTime() - IDEMPOTENCY_TTL_MS)),
      logger,
    });
  }

  onApplicationBootstrap(): void {
    this.prune.start();
  }

  /** Answered responses are stored before the pool closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.handler.drain();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.prune.stop();
    this.caller.close?.();
  }
}

@Module({
  providers: [
    {
      provide: IDEMPOTENCY_STORE,
      inject: [PG_POOL, CONFIG],
      useFactory: (pool: pg.Pool, config: Config) => new PgIdempotencyStore(pool, { asyncCommit: config.MF_IDEMPOTENCY_ASYNC_COMMIT }),
    },
    {
      provide: SERVICE_CALLER,
      inject: [NATS_CONNECTION, NATS_NAMES, CONFIG],
      useFactory: (nc: NatsConnection, names: NatsNames, config: Config) => new NatsServiceCaller(nc, names, config.MF_RPC_TIMEOUT_MS),
    },
    {
      provide: ApiCallHandler,
      inject: [IDEMPOTENCY_STORE, SERVICE_CALLER, CONFIG, CLOCK, LOGGER],
      useFactory: (idempotency: IdempotencyStore, caller: ServiceCaller, config: Config, clock: Clock, logger: Logger) =>
        new ApiCallHandler({
          apiKeys: parseApiKeys(config.MF_API_KEYS),
          idempotency,
          caller,
          clock,
          rpcTimeoutMs: config.MF_RPC_TIMEOUT_MS,
          onStoreError: (e) => logger.error({ err: e }, 'storing an idempotent response failed'),
        }),
    },
    GatewayLifecycle,
  ],
})
export class GatewayModule {}
