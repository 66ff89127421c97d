/**
 * The changes this process just appended that announce Stripe events, by announcement id (the
 * Stripe event id). The outbox relay of the same process renders an announcement from its entry
 * instead of reading and folding the announcing stream again (issue 12: that read was a tenth of
 * the invoicing statements' time in a period close); a miss (another replica appended it, the
 * process restarted, the entry was evicted) reads the stream as before. The states are the ones
 * the unit of work folded from the same events, so both ways render the same object
 * (`announced-events.int.spec.ts` and each service's rendering test compare them).
 *
 * Entries are added when the append succeeds; a unit whose transaction then rolls back leaves
 * entries whose ids are never stored (announcement ids are new on every attempt), which age out:
 * the map keeps the newest `capacity` entries, and the relay takes each entry it uses.
 */
export interface RecentChange {
  before: unknown;
  after: unknown;
  event: unknown;
}

export class RecentAnnouncements {
  private readonly changes = new Map<string, RecentChange>();
  /** Renders served from an entry, and announcements that had none (for tests and benchmarks). */
  hits = 0;
  misses = 0;

  constructor(readonly capacity = 4096) {}

  remember(id: string, change: RecentChange): void {
    if (this.capacity <= 0) return;
    this.changes.set(id, change);
    if (this.changes.size > this.capacity) this.changes.delete(this.changes.keys().next().value!);
  }

  /** The entry of an announcement, removed (each is rendered once; a second render reads the stream). */
  take(id: string): RecentChange | undefined {
    const c = this.changes.get(id);
    if (c === undefined) {
      this.misses++;
      return undefined;
    }
    this.changes.delete(id);
    this.hits++;
    return c;
  }

  get size(): number {
    return this.changes.size;
  }
}
