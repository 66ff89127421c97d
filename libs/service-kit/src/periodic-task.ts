import type pg from 'pg';
import type { Logger } from '@meterflow/observability';
import { whileHolding } from './advisory-lock.js';

/**
 * Real-time work on a timer: the scheduler behind period closes, automatic finalization and
 * grant expiry for customers without a test clock. One pass at a time (a slow pass delays the
 * next instead of overlapping it); a failed pass is logged and retried on the next tick.
 * `exclusive`: with several replicas of a service, a pass runs in one of them at a time (under
 * the advisory lock `key`); the others skip that tick instead of racing it for the same rows.
 */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly opts: {
      name: string;
      everyMs: number;
      run: () => Promise<unknown>;
      logger: Pick<Logger, 'warn'>;
      exclusive?: { pool: pg.Pool; key: string };
    },
  ) {}

  /** Starts ticking; `everyMs <= 0` leaves the task off. */
  start(): void {
    if (this.opts.everyMs <= 0 || !this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** Runs one pass now (waiting for a pass already under way first). */
  async runOnce(): Promise<void> {
    while (this.running) await this.running;
    const { exclusive } = this.opts;
    this.running = (exclusive ? whileHolding(exclusive.pool, exclusive.key, this.opts.run) : this.opts.run())
      .then(() => undefined)
      .catch((err: unknown) => this.opts.logger.warn({ err, task: this.opts.name }, `${this.opts.name} failed; retrying next tick`))
      .finally(() => {
        this.running = undefined;
      });
    await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      void this.runOnce().finally(() => {
        if (!this.stopped) this.schedule();
      });
    }, this.opts.everyMs);
    this.timer.unref();
  }
}
