import { Module } from '@nestjs/common';
import type pg from 'pg';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsNames } from '@meterflow/contracts';
import type { PgEventStore } from '@meterflow/event-store';
import { CLOCK, type Clock } from '@meterflow/kernel';
import type { RpcClient } from '@meterflow/messaging';
import type { Logger } from '@meterflow/observability';
import { CONFIG, EVENT_STORE, LOGGER, NATS_CONNECTION, NATS_NAMES, PG_POOL, RPC_CLIENT } from '@meterflow/service-kit';
import { IngestionLifecycle } from './adapters/ingestion.lifecycle.js';
import { IngestPublisher } from './adapters/nats/ingest.publisher.js';
import { MeterEventsConsumer } from './adapters/nats/meter-events.consumer.js';
import { MeterEventStore } from './adapters/persistence/meter-event.store.js';
import { MeterRepository } from './adapters/persistence/meter.repository.js';
import { RejectionRecorder } from './adapters/persistence/rejection.recorder.js';
import { SessionRepository } from './adapters/persistence/session.repository.js';
import { InternalController } from './adapters/rpc/internal.controller.js';
import { MeterEventsController } from './adapters/rpc/meter-events.controller.js';
import { MetersController } from './adapters/rpc/meters.controller.js';
import { AlertsController } from './adapters/rpc/alerts.controller.js';
import { AlertRepository } from './adapters/persistence/alert.repository.js';
import { AlertsService } from './application/alerts.service.js';
import { AdjustmentsService } from './application/adjustments.service.js';
import { CustomerDirectory } from './application/customer-directory.js';
import { IngestService } from './application/ingest.service.js';
import { MeterCatalog } from './application/meter-catalog.js';
import { MetersService } from './application/meters.service.js';
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
    f(MeterRepository, [PG_POOL], (pool: pg.Pool) => new MeterRepository(pool)),
    f(MeterEventStore, [PG_POOL], (pool: pg.Pool) => new MeterEventStore(pool)),
    f(SessionRepository, [PG_POOL], (pool: pg.Pool) => new SessionRepository(pool)),
    f(RejectionRecorder, [EVENT_STORE], (store: PgEventStore) => new RejectionRecorder(store)),
    f(MeterCatalog, [MeterRepository], (repo: MeterRepository) => new MeterCatalog(repo)),
    f(
      MetersService,
      [EVENT_STORE, MeterRepository, MeterCatalog, CLOCK],
      (s: PgEventStore, r: MeterRepository, c: MeterCatalog, k: Clock) => new MetersService(s, r, c, k),
    ),
    f(
      CustomerDirectory,
      [RPC_CLIENT, CLOCK, INGESTION_SETTINGS],
      (rpc: RpcClient, k: Clock, st: IngestionSettings) => new CustomerDirectory(st.customerLookup === 'off' ? null : rpc, k),
    ),
    f(AlertRepository, [PG_POOL], (pool: pg.Pool) => new AlertRepository(pool)),
    f(
      AlertsService,
      [EVENT_STORE, AlertRepository, MeterCatalog, UsageService, CLOCK],
      (s: PgEventStore, r: AlertRepository, c: MeterCatalog, u: UsageService, k: Clock) => new AlertsService(s, r, c, u, k),
    ),
    f(
      WriteQueue,
      [MeterEventStore, MeterCatalog, INGESTION_SETTINGS, AlertsService],
      (store: MeterEventStore, cat: MeterCatalog, st: IngestionSettings, alerts: AlertsService) =>
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
      [MeterCatalog, CustomerDirectory, WriteQueue, RejectionRecorder, CLOCK],
      (c: MeterCatalog, d: CustomerDirectory, q: WriteQueue, r: RejectionRecorder, k: Clock) => new IngestService(c, d, q, r, k),
    ),
    f(
      UsageService,
      [MeterCatalog, MeterRepository, MeterEventStore],
      (c: MeterCatalog, r: MeterRepository, s: MeterEventStore) => new UsageService(c, r, s),
    ),
    f(
      AdjustmentsService,
      [EVENT_STORE, MeterEventStore, MeterCatalog, CLOCK],
      (s: PgEventStore, e: MeterEventStore, c: MeterCatalog, k: Clock) => new AdjustmentsService(s, e, c, k),
    ),
    f(IngestPublisher, [NATS_CONNECTION, NATS_NAMES], (nc: NatsConnection, n: NatsNames) => new IngestPublisher(nc, n)),
    f(
      MeterEventsConsumer,
      [NATS_CONNECTION, NATS_NAMES, IngestService, RejectionRecorder, LOGGER, INGESTION_SETTINGS],
      (nc: NatsConnection, n: NatsNames, i: IngestService, r: RejectionRecorder, l: Logger, st: IngestionSettings) =>
        new MeterEventsConsumer(nc, n, i, r, l, { batchMessages: st.pullBatchMessages, concurrency: st.concurrency }),
    ),
    IngestionLifecycle,
  ],
})
export class MeterIngestionModule {}
