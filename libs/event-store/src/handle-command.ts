import type { AppendOptions, NewEvent, PgEventStore, StoredEvent } from './pg-event-store.js';
import { VersionConflictError } from './pg-event-store.js';

/**
 * Emmett-style decider. `evolve` receives stored events (loaded) and the newly stored ones;
 * remember that `bigint`s inside `data` come back as decimal strings.
 */
export interface Decider<S, C, E extends NewEvent = NewEvent> {
  initialState: () => S;
  evolve: (state: S, event: StoredEvent) => S;
  decide: (command: C, state: S) => E | E[];
}

export interface HandleCommandOptions extends AppendOptions {
  /** Attempts on VersionConflictError (default 3). */
  retries?: number;
}

export interface HandleCommandResult<S, E> {
  state: S;
  newEvents: E[];
  stored: StoredEvent[];
  nextVersion: number;
}

/** load stream -> fold evolve -> decide -> append at the loaded version; retry on conflicts. */
export async function handleCommand<S, C, E extends NewEvent>(
  store: PgEventStore,
  streamId: string,
  decider: Decider<S, C, E>,
  command: C,
  opts: HandleCommandOptions = {},
): Promise<HandleCommandResult<S, E>> {
  const { retries = 3, ...appendOpts } = opts;
  for (let attempt = 1; ; attempt++) {
    const history = await store.readStream(streamId, { tx: opts.tx });
    let state = history.reduce(decider.evolve, decider.initialState());
    const version = history.length === 0 ? 0 : history[history.length - 1]!.streamPosition;
    const decided = decider.decide(command, state);
    const newEvents = Array.isArray(decided) ? decided : [decided];
    try {
      const { stored, nextVersion } = await store.append(streamId, version, newEvents, appendOpts);
      state = stored.reduce(decider.evolve, state);
      return { state, newEvents, stored, nextVersion };
    } catch (e) {
      if (e instanceof VersionConflictError && attempt < retries) continue;
      throw e;
    }
  }
}
