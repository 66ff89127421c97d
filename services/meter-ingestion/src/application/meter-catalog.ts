import type { Meter } from '../domain/meter.types.js';
import type { MeterReadModel } from './ports.js';

/**
 * Every meter in memory, by event name and id, for validating events without a query each.
 * Refreshed after local changes and on an interval (other replicas' changes show up within it).
 */
export class MeterCatalog {
  private byName = new Map<string, Meter>();
  private byId = new Map<string, Meter>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly repo: Pick<MeterReadModel, 'all'>) {}

  async refresh(): Promise<void> {
    const all = await this.repo.all();
    this.byName = new Map(all.map((m) => [m.eventName, m]));
    this.byId = new Map(all.map((m) => [m.id, m]));
  }

  put(m: Meter): void {
    this.byName.set(m.eventName, m);
    this.byId.set(m.id, m);
  }

  forEventName(name: string): Meter | undefined {
    return this.byName.get(name);
  }

  byMeterId(id: string): Meter | undefined {
    return this.byId.get(id);
  }

  start(everyMs: number): void {
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
