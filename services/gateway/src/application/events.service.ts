import { notFound, type Clock } from '@meterflow/kernel';
import type { ListParams } from '@meterflow/stripe-api';
import type { EventFilter, EventLog, IncomingEvent } from './ports.js';

/** The events API (`/v1/events`) over the events consumed from MF_EVENTS, and their intake. */
export class EventsService {
  /** Called when deliveries were queued (the dispatcher looks at once instead of at its next tick). */
  onDeliveriesQueued: (() => void) | undefined;

  constructor(
    private readonly deps: {
      log: EventLog;
      clock: Clock;
      /** Events older than this are gone (Stripe: 30 days). */
      retentionMs: number;
    },
  ) {}

  async record(events: readonly IncomingEvent[]): Promise<void> {
    const queued = await this.deps.log.record(events, this.deps.clock.now());
    if (queued > 0) this.onDeliveriesQueued?.();
  }

  list(filter: Omit<EventFilter, 'receivedAfter'>, lp: ListParams) {
    return this.deps.log.list({ ...filter, receivedAfter: this.horizon() }, lp);
  }

  async retrieve(id: string) {
    const e = await this.deps.log.retrieve(id, this.horizon());
    if (!e) throw notFound('event', id);
    return e;
  }

  /** Forget what is past retention; returns how many events went. */
  prune(): Promise<number> {
    return this.deps.log.prune(this.horizon());
  }

  private horizon(): Date {
    return new Date(this.deps.clock.now().getTime() - this.deps.retentionMs);
  }
}
