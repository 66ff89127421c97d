/**
 * The changes a process's own units announced, kept in memory from the append to the relay: the
 * relay that publishes an announcement this process decided renders it from the states the unit
 * held (`before`, `after`, the event), instead of reading the stream back and folding it. The
 * stream stays the truth: an announcement not found here (decided by another replica, before a
 * restart, evicted, or published a second time) is rendered from the stream as before, and
 * `MF_RENDER_CHECK` renders every one found here both ways and fails on a difference.
 *
 * Kept by the Stripe event id (`evt_...`, new at every decision), so an entry of a unit that never
 * committed is never asked for; at most `capacity` entries, the oldest dropped first.
 */
export interface AnnouncedState {
  /** The announcing aggregate type's name (`AggregateType.name`). */
  aggregate: string;
  before: unknown;
  after: unknown;
  /** The last decided event of the change (as the decider produced it). */
  event: unknown;
}

/** Enough for a relay that lags by a few seconds of a large close; a few kB of state each. */
export const ANNOUNCED_CHANGES_CAPACITY = 20_000;

export class AnnouncedChanges {
  private readonly entries = new Map<string, AnnouncedState>();
  /** How the relay's renderer found the announcements it rendered (for tests and profiles). */
  readonly rendered = { memory: 0, stream: 0 };

  constructor(private readonly capacity = ANNOUNCED_CHANGES_CAPACITY) {}

  put(id: string, state: AnnouncedState): void {
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(id, state);
  }

  /** The entry, removed: a relay renders an announcement once (a repeat reads the stream). */
  take(id: string): AnnouncedState | undefined {
    const found = this.entries.get(id);
    if (found) this.entries.delete(id);
    return found;
  }

  /** The entry, kept (`MF_RENDER_CHECK`: a batch that failed the check fails it again when retried). */
  peek(id: string): AnnouncedState | undefined {
    return this.entries.get(id);
  }

  get size(): number {
    return this.entries.size;
  }
}

const byStore = new WeakMap<object, AnnouncedChanges>();

/** The memory shared by the units and the relay that write and read one event store. */
export function announcedChanges(store: object): AnnouncedChanges {
  let memo = byStore.get(store);
  if (!memo) byStore.set(store, (memo = new AnnouncedChanges()));
  return memo;
}
