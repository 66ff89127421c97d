import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { CLOCK, toUnix, type Clock } from '@meterflow/kernel';
import type { Logger } from '@meterflow/observability';
import { LOGGER } from '@meterflow/service-kit';
import { AlertsService } from '../application/alerts.service.js';
import { MeterCatalog } from '../application/meter-catalog.js';
import { INGESTION_SETTINGS, type IngestionSettings } from '../application/tokens.js';
import { WriteQueue } from '../application/write-queue.js';
import { MeterEventsConsumer } from './nats/meter-events.consumer.js';
import { MeterEventStore } from './persistence/meter-event.store.js';
import { SessionRepository } from './persistence/session.repository.js';

/** Starts the catalog, the ingest consumer and housekeeping; drains them before connections close. */
@Injectable()
export class IngestionLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly catalog: MeterCatalog,
    private readonly consumer: MeterEventsConsumer,
    private readonly queue: WriteQueue,
    private readonly events: MeterEventStore,
    private readonly sessions: SessionRepository,
    private readonly alerts: AlertsService,
    @Inject(INGESTION_SETTINGS) private readonly settings: IngestionSettings,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.catalog.refresh();
    await this.alerts.refresh();
    this.catalog.start(this.settings.catalogRefreshMs);
    await this.housekeeping();
    await this.consumer.start();
    this.timer = setInterval(
      () => void this.housekeeping().catch((e) => this.logger.warn({ err: e }, 'housekeeping failed')),
      this.settings.schedulerIntervalMs,
    );
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.catalog.stop();
    await this.consumer.stop();
    await this.queue.flushed();
  }

  /** Partitions for the accepted timestamp range (35 days back, into next month); prune the identifier window and the Idempotency-Key records. */
  private async housekeeping(): Promise<void> {
    const now = toUnix(this.clock.now());
    await this.events.ensurePartitions([now - 40 * 86_400, now - 20 * 86_400, now, now + 20 * 86_400]);
    await this.events.pruneIdentifiers(now - this.settings.identifierWindowDays * 86_400);
    await this.events.pruneIdempotencyKeys();
    await this.sessions.pruneExpired(now - 86_400);
    await this.alerts.refresh();
  }
}
