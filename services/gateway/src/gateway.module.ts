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
import { CommandPipeline, type PgEventStore } from '@meterflow/event-store';
import { CLOCK, type Clock } from '@meterflow/kernel';
import type { RunningConsumer } from '@meterflow/messaging';
import {
  CONFIG,
  EVENT_STORE,
  LOGGER,
  NATS_CONNECTION,
  NATS_NAMES,
  PG_POOL,
  PeriodicTask,
  type ServiceConfig,
} from '@meterflow/service-kit';
import { webhookDeliveries, type Logger } from '@meterflow/observability';
import { IDEMPOTENCY_TTL_MS, parseApiKeys } from '@meterflow/stripe-api';
import { PgIdempotencyStore } from './adapters/persistence/idempotency.store.js';
import { PgWebhookEndpointReads, webhookEndpointType } from './adapters/persistence/webhook-endpoints.repository.js';
import { PgEventLog } from './adapters/persistence/event-log.store.js';
import { NatsServiceCaller } from './adapters/nats/service-caller.js';
import { startEventsConsumer } from './adapters/nats/events.consumer.js';
import { JetStreamEventBodies } from './adapters/nats/event-bodies.js';
import { HttpWebhookSender } from './adapters/http/webhook.sender.js';
import { WebhookEndpointsController } from './adapters/rpc/webhook-endpoints.controller.js';
import { EventsController } from './adapters/rpc/events.controller.js';
import { ApiCallHandler } from './application/api-call.handler.js';
import { WebhookEndpointsService } from './application/webhook-endpoints.service.js';
import { EventsService } from './application/events.service.js';
import { WebhookDispatcher } from './application/webhook-dispatcher.js';
import {
  DELIVERY_QUEUE,
  EVENT_BODIES,
  EVENT_LOG,
  IDEMPOTENCY_STORE,
  SERVICE_CALLER,
  WEBHOOK_ENDPOINT_READS,
  WEBHOOK_ENDPOINT_TYPE,
  WEBHOOK_SENDER,
  type DeliveryQueue,
  type EventBodies,
  type EventLog,
  type IdempotencyStore,
  type ServiceCaller,
  type WebhookEndpointReads,
  type WebhookEndpointType,
  type WebhookSender,
} from './application/ports.js';
import type { GatewayEnv } from './gateway.definition.js';

type Config = ServiceConfig & GatewayEnv;
const DAY_MS = 24 * 3600_000;

/**
 * Background work, never on the request path: idempotency records older than 24 h and events
 * past retention are pruned; the MF_EVENTS consumer feeds the events API and the webhook queue;
 * the dispatcher delivers. On shutdown: answered responses and attempts under way are stored.
 */
@Injectable()
class GatewayLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly prune: PeriodicTask;
  private readonly pruneEvents: PeriodicTask;
  private readonly dispatch: PeriodicTask;
  private consumer: RunningConsumer | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(IDEMPOTENCY_STORE) store: IdempotencyStore,
    @Inject(CONFIG) config: Config,
    @Inject(CLOCK) clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_CALLER) private readonly caller: ServiceCaller,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(NATS_NAMES) private readonly names: NatsNames,
    @Inject(EVENT_BODIES) private readonly bodies: EventBodies,
    private readonly handler: ApiCallHandler,
    private readonly events: EventsService,
    private readonly dispatcher: WebhookDispatcher,
  ) {
    this.prune = new PeriodicTask({
      name: 'idempotency prune',
      everyMs: config.MF_IDEMPOTENCY_PRUNE_MS,
      run: () => store.prune(new Date(clock.now().getTime() - IDEMPOTENCY_TTL_MS)),
      logger,
    });
    this.pruneEvents = new PeriodicTask({ name: 'events prune', everyMs: 3600_000, run: () => events.prune(), logger });
    this.dispatch = new PeriodicTask({
      name: 'webhook dispatch',
      everyMs: config.MF_WEBHOOK_POLL_MS,
      run: () => dispatcher.tick(),
      logger,
    });
    const wake = () => this.wake();
    events.onDeliveriesQueued = wake;
    dispatcher.onSlotFreed = wake;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.prune.start();
    this.pruneEvents.start();
    this.dispatch.start();
    this.consumer = await startEventsConsumer({
      nc: this.nc,
      names: this.names,
      events: this.events,
      bodies: this.bodies,
      onError: (err) => this.logger.warn({ err }, 'MF_EVENTS consumer: a batch failed; it is redelivered'),
    });
  }

  /** Answered responses and webhook attempts under way are stored before the pool closes. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    await this.consumer?.stop();
    await this.dispatch.stop();
    await Promise.all([this.handler.drain(), this.dispatcher.drain()]);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.prune.stop();
    await this.pruneEvents.stop();
    this.caller.close?.();
  }

  /** Look for due deliveries soon (coalesced), not only at the next tick. */
  private wake(): void {
    if (this.wakeTimer) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      void this.dispatch.runOnce();
    }, 5);
  }
}

@Module({
  controllers: [WebhookEndpointsController, EventsController],
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
    { provide: WEBHOOK_ENDPOINT_TYPE, useValue: webhookEndpointType },
    { provide: WEBHOOK_ENDPOINT_READS, inject: [PG_POOL], useFactory: (pool: pg.Pool) => new PgWebhookEndpointReads(pool) },
    {
      provide: EVENT_BODIES,
      inject: [NATS_CONNECTION, NATS_NAMES],
      useFactory: (nc: NatsConnection, names: NatsNames) => new JetStreamEventBodies(nc, names.eventsStream),
    },
    {
      provide: PgEventLog,
      inject: [PG_POOL, EVENT_BODIES],
      useFactory: (pool: pg.Pool, bodies: EventBodies) => new PgEventLog(pool, bodies),
    },
    { provide: EVENT_LOG, useExisting: PgEventLog },
    { provide: DELIVERY_QUEUE, useExisting: PgEventLog },
    {
      provide: WEBHOOK_SENDER,
      inject: [CONFIG],
      useFactory: (config: Config) => new HttpWebhookSender({ allowPrivate: config.MF_WEBHOOK_ALLOW_PRIVATE }),
    },
    {
      provide: WebhookEndpointsService,
      inject: [EVENT_STORE, WEBHOOK_ENDPOINT_TYPE, WEBHOOK_ENDPOINT_READS, CLOCK, CONFIG],
      useFactory: (store: PgEventStore, type: WebhookEndpointType, reads: WebhookEndpointReads, clock: Clock, config: Config) =>
        new WebhookEndpointsService({
          pipeline: new CommandPipeline(store),
          type,
          reads,
          clock,
          urlPolicy: { allowPrivate: config.MF_WEBHOOK_ALLOW_PRIVATE },
        }),
    },
    {
      provide: EventsService,
      inject: [EVENT_LOG, CLOCK, CONFIG],
      useFactory: (log: EventLog, clock: Clock, config: Config) =>
        new EventsService({ log, clock, retentionMs: config.MF_EVENTS_RETENTION_DAYS * DAY_MS }),
    },
    {
      provide: WebhookDispatcher,
      inject: [DELIVERY_QUEUE, WEBHOOK_SENDER, CLOCK, CONFIG, LOGGER],
      useFactory: (queue: DeliveryQueue, sender: WebhookSender, clock: Clock, config: Config, logger: Logger) =>
        new WebhookDispatcher({
          queue,
          sender,
          clock,
          timeoutMs: config.MF_WEBHOOK_TIMEOUT_MS,
          perEndpoint: config.MF_WEBHOOK_ENDPOINT_CONCURRENCY,
          schedule: {
            firstDelayMs: config.MF_WEBHOOK_RETRY_FIRST_MS,
            factor: config.MF_WEBHOOK_RETRY_FACTOR,
            maxDelayMs: config.MF_WEBHOOK_RETRY_MAX_DELAY_MS,
            windowMs: config.MF_WEBHOOK_RETRY_WINDOW_MS,
          },
          onError: (err) => logger.warn({ err }, 'recording a webhook attempt failed; it is retried after its lease'),
          onAttempt: (outcome) => webhookDeliveries.inc({ outcome }),
        }),
    },
    GatewayLifecycle,
  ],
})
export class GatewayModule {}
