import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type pg from 'pg';
import { CLOCK, toUnix, type Clock } from '@meterflow/kernel';
import { CONFIG, LOGGER, PG_POOL, PeriodicTask } from '@meterflow/service-kit';
import type { Logger } from '@meterflow/observability';
import { DueInvoices } from '../../application/due-invoices.js';
import type { InvoicingEnv } from '../../invoicing.definition.js';

/** Real-time driver of automatic finalization for customers without a test clock (one replica's pass at a time). */
@Injectable()
export class FinalizationScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly task: PeriodicTask;

  constructor(
    @Inject(DueInvoices) due: DueInvoices,
    @Inject(CLOCK) clock: Clock,
    @Inject(CONFIG) config: InvoicingEnv,
    @Inject(LOGGER) logger: Logger,
    @Inject(PG_POOL) pool: pg.Pool,
  ) {
    this.task = new PeriodicTask({
      name: 'finalization scheduler',
      everyMs: config.INVOICE_SCHEDULER_INTERVAL_MS,
      run: () => due.tick(toUnix(clock.now())),
      logger,
      exclusive: { pool, key: 'mf_task:invoicing:finalization' },
    });
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.task.stop();
  }
}
