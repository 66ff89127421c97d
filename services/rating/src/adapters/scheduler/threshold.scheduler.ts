import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from '@meterflow/observability';
import { CONFIG, LOGGER, PeriodicTask } from '@meterflow/service-kit';
import { ThresholdInvoicing } from '../../application/threshold-invoicing.service.js';
import { TimeService } from '../../application/time.service.js';
import type { RatingEnv } from '../../rating.definition.js';

/**
 * Real time: every RATING_THRESHOLD_INTERVAL_MS, evaluate the billing thresholds of customers
 * without a test clock (the same code a clock's advance runs). 0 disables it.
 */
@Injectable()
export class ThresholdScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly task: PeriodicTask;

  constructor(thresholds: ThresholdInvoicing, time: TimeService, @Inject(CONFIG) config: RatingEnv, @Inject(LOGGER) logger: Logger) {
    this.task = new PeriodicTask({
      name: 'billing thresholds',
      everyMs: config.RATING_THRESHOLD_INTERVAL_MS,
      run: async () => {
        const invoiced = await thresholds.runDue(null, time.systemNow());
        if (invoiced) logger.info({ invoiced }, 'issued threshold invoices');
      },
      logger,
    });
  }

  onApplicationBootstrap(): void {
    this.task.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.task.stop();
  }
}
