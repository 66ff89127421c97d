import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from '@meterflow/observability';
import { CONFIG, LOGGER, PeriodicTask } from '@meterflow/service-kit';
import { PeriodCloseService } from '../../application/period-close.service.js';
import { TimeService } from '../../application/time.service.js';
import type { RatingEnv } from '../../rating.definition.js';

/**
 * Real time: every RATING_SCHEDULER_INTERVAL_MS, close the periods due now for customers
 * without a test clock (the same code `clock.advance_to` runs for a clock). 0 disables it.
 */
@Injectable()
export class PeriodCloseScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly task: PeriodicTask;

  constructor(periods: PeriodCloseService, time: TimeService, @Inject(CONFIG) config: RatingEnv, @Inject(LOGGER) logger: Logger) {
    this.task = new PeriodicTask({
      name: 'period close',
      everyMs: config.RATING_SCHEDULER_INTERVAL_MS,
      run: async () => {
        const { closed } = await periods.runDue(null, time.systemNow());
        if (closed) logger.info({ closed }, 'closed billing periods');
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
