import { Module } from '@nestjs/common';
import type pg from 'pg';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsNames } from '@meterflow/contracts';
import { CommandPipeline, type PgEventStore } from '@meterflow/event-store';
import { CLOCK, type Clock } from '@meterflow/kernel';
import { DeadLetterStore, type RpcClient } from '@meterflow/messaging';
import type { Logger } from '@meterflow/observability';
import { CustomerDirectory } from '@meterflow/rating-client';
import { CONFIG, EVENT_STORE, LOGGER, NATS_CONNECTION, NATS_NAMES, PG_POOL, RPC_CLIENT } from '@meterflow/service-kit';
import { IngestionLifecycle } from './adapters/ingestion.lifecycle.js';
import { IngestPublisher } from './adapters/nats/ingest.publisher.js';
import { MeterEventsConsumer } from './adapters/nats/meter-events.consumer.js';
import { AlertRepository } from './adapters/persistence/alert.repository.js';
import { MeterEventAdjuster } from './adapters/persistence/meter-event.adjuster.js';
import { MeterEventStore } from './adapters/persistence/meter-event.store.js';
import { MeterRepository } from './adapters/persistence/meter.repository.js';
import { RejectionRecorder } from './adapters/persistence/rejection.recorder.js';
import { SessionRepository } from './adapters/persistence/session.repository.js';
import { UsageQueries } from './adapters/persistence/usage.queries.js';
import { AlertsController } from './adapters/rpc/alerts.controller.js';
import { InternalController } from './adapters/rpc/internal.controller.js';
import { MeterEventsController } from './adapters/rpc/meter-events.controller.js';
import { MetersController } from './adapters/rpc/meters.controller.js';
import { AdjustmentsService } from './application/adjustments.service.js';
import { AlertsService } from './application/alerts.service.js';
import { IngestService } from './application/ingest.service.js';
import { MeterCatalog } from './application/meter-catalog.js';
import { MetersService } from './application/meters.service.js';
import {
  ALERT_READ_MODEL,
  METER_READ_MODEL,
  REJECTIONS,
  USAGE_ADJUSTER,
  USAGE_READER,
  USAGE_WRITER,
  type AlertReadModel,
  type MeterReadModel,
  type Rejections,
  type UsageAdjuster,
  type UsageReader,
  type UsageWriter,
} from './application/ports.js';
import { INGESTION_SETTINGS, type IngestionSettings } from './application/tokens.js';
import { UsageService } from './application/usage.service.js';
import { WriteQueue } from './application/write-queue.js';
import type { IngestionEnv } from './meter-ingestion.definition.js';

const f = <T>(provide: unknown, inject: unknown[], useFactory: (...args: never[]) => T) => ({ provide, inject, useFactory }) as never;

@Module({
  controllers: [MetersController, MeterEventsController, InternalController, AlertsController],
  providers: [
    f(INGESTION_SETTINGS, [CONFIG], (c: IngestionEnv): IngestionSettings => ({
      identifierWindowDays: c.METER_EVENT_IDENTIFIER_WINDOW_DAYS,
      customerLookup: c.INGEST_CUSTOMER_LOOKUP,
      flushMaxEvents: c.INGEST_FLUSH_MAX_EVENTS,
      pullBatchMessages: c.INGEST_BATCH_MESSAGES,
      concurrency: c.INGEST_CONCURRENCY,
      writers: c.INGEST_WRITERS,
      schedulerIntervalMs: c.INGEST_SCHEDULER_INTERVAL_MS,
      catalogRefreshMs: c.INGEST_CATALOG_REFRESH_MS,
    })),
    // ports (application/ports.ts) -> adapters
    f(METER_READ_MODEL, [PG_POOL], (pool: pg.Pool): MeterReadModel => new MeterRepository(pool)),
    f(ALERT_READ_MODEL, [PG_POOL], (pool: pg.Pool): AlertReadModel => new AlertRepository(pool)),
    f(MeterEventStore, [PG_POOL], (pool: pg.Pool) => new MeterEventStore(pool)),
    f(USAGE_WRITER, [MeterEventStore], (store: MeterEventStore): UsageWriter => store),
    f(USAGE_READER, [PG_POOL], (pool: pg.Pool): UsageReader => new UsageQueries(pool)),
    f(USAGE_ADJUSTER, [PG_POOL], (pool: pg.Pool): UsageAdjuster => new MeterEventAdjuster(pool)),
    f(REJECTIONS, [CommandPipeline], (p: CommandPipeline): Rejections => new RejectionRecorder(p)),
    f(SessionRepository, [PG_POOL], (pool: pg.Pool) => new SessionRepository(pool)),
    // every write of events goes through the one command pipeline
    f(CommandPipeline, [EVENT_STORE], (s: PgEventStore) => new CommandPipeline(s)),
    f(
      CustomerDirectory,
      [RPC_CLIENT, CLOCK, INGESTION_SETTINGS],
      (rpc: RpcClient, k: Clock, st: IngestionSettings) => new CustomerDirectory(st.customerLookup === 'off' ? null : rpc, k),
    ),
    // application
    f(MeterCatalog, [METER_READ_MODEL], (repo: MeterReadModel) => new MeterCatalog(repo)),
    f(
      MetersService,
      [CommandPipeline, METER_READ_MODEL, MeterCatalog, CLOCK],
      (p: CommandPipeline, r: MeterReadModel, c: MeterCatalog, k: Clock) => new MetersService(p, r, c, k),
    ),
    f(
      AlertsService,
      [CommandPipeline, ALERT_READ_MODEL, MeterCatalog, UsageService, CLOCK],
      (p: CommandPipeline, r: AlertReadModel, c: MeterCatalog, u: UsageService, k: Clock) => new AlertsService(p, r, c, u, k),
    ),
    f(
      WriteQueue,
      [USAGE_WRITER, MeterCatalog, INGESTION_SETTINGS, AlertsService],
      (store: UsageWriter, cat: MeterCatalog, st: IngestionSettings, alerts: AlertsService) =>
        new WriteQueue(
          store,
          (id) => cat.byMeterId(id)?.eventTimeWindow ?? null,
          st.flushMaxEvents,
          (stored) => alerts.evaluate(stored),
          st.writers,
        ),
    ),
    f(
      IngestService,
      [MeterCatalog, CustomerDirectory, WriteQueue, REJECTIONS, CLOCK],
      (c: MeterCatalog, d: CustomerDirectory, q: WriteQueue, r: Rejections, k: Clock) => new IngestService(c, d, q, r, k),
    ),
    f(
      UsageService,
      [MeterCatalog, METER_READ_MODEL, USAGE_READER],
      (c: MeterCatalog, r: MeterReadModel, u: UsageReader) => new UsageService(c, r, u),
    ),
    f(
      AdjustmentsService,
      [CommandPipeline, USAGE_ADJUSTER, MeterCatalog, CLOCK],
      (p: CommandPipeline, a: UsageAdjuster, c: MeterCatalog, k: Clock) => new AdjustmentsService(p, a, c, k),
    ),
    f(IngestPublisher, [NATS_CONNECTION, NATS_NAMES], (nc: NatsConnection, n: NatsNames) => new IngestPublisher(nc, n)),
    f(
      MeterEventsConsumer,
      [NATS_CONNECTION, NATS_NAMES, IngestService, REJECTIONS, LOGGER, INGESTION_SETTINGS, PG_POOL],
      (nc: NatsConnection, n: NatsNames, i: IngestService, r: Rejections, l: Logger, st: IngestionSettings, pool: pg.Pool) =>
        new MeterEventsConsumer(
          nc,
          n,
          i,
          r,
          l,
          { batchMessages: st.pullBatchMessages, concurrency: st.concurrency },
          new DeadLetterStore(pool, 'ingestion', { nc, subject: n.deadLetterSubject('meter-ingestion') }, { service: 'meter-ingestion' }),
        ),
    ),
    IngestionLifecycle,
  ],
})
export class MeterIngestionModule {}
