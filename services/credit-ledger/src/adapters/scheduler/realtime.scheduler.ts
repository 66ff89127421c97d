import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type pg from 'pg';
import type { Logger } from '@meterflow/observability';
import { CONFIG, LOGGER, PG_POOL, PeriodicTask } from '@meterflow/service-kit';
import { GrantScheduleHandler } from '../../application/grant-schedule.handler.js';
import { CUSTOMERS, type Customers } from '../../application/ports.js';

/**
 * Grants of customers without a test clock become effective and expire by the system clock:
 * every `CREDIT_LEDGER_SCHEDULER_INTERVAL_MS` (0 = off) the same work a clock advance does runs
 * for them up to now, in one replica at a time.
 */
@Injectable()
export class RealtimeScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly task: PeriodicTask;

  constructor(
    schedule: GrantScheduleHandler,
    @Inject(CUSTOMERS) customers: Customers,
    @Inject(CONFIG) config: { CREDIT_LEDGER_SCHEDULER_INTERVAL_MS: number },
    @Inject(LOGGER) logger: Logger,
    @Inject(PG_POOL) pool: pg.Pool,
  ) {
    this.task = new PeriodicTask({
      name: 'credit ledger scheduler',
      everyMs: config.CREDIT_LEDGER_SCHEDULER_INTERVAL_MS,
      run: () => schedule.runDue(null, customers.systemNow()),
      logger,
      exclusive: { pool, key: 'mf_task:credit-ledger:grant-schedule' },
    });
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.task.stop();
  }
}
