import { expect } from 'vitest';

/** The pure shape every decider has (the pipeline's `Decider` in @meterflow/event-store). */
export interface SpecDecider<S, C, E> {
  initialState: () => S;
  decide: (command: C, state: S) => E | readonly E[];
  evolve: (state: S, event: E) => S;
}

/** What a refused command must throw: an error's `code` (DomainError), a message pattern, or an Error class. */
export type ExpectedError = { code: string; param?: string } | RegExp | (abstract new (...args: never[]) => Error);

const isExpectedError = (x: unknown): x is ExpectedError =>
  x instanceof RegExp || typeof x === 'function' || (typeof x === 'object' && x !== null && !Array.isArray(x) && 'code' in x);

/**
 * Given / when / then over a decider, as Emmett's DeciderSpecification:
 *
 *   deciderSpec(grantDecider).given([created]).when(applyCommand).then([posted]);
 *   deciderSpec(grantDecider).given([voided]).when(applyCommand).then({ code: 'grant_voided' });
 *
 * `then` takes the expected events (deep equality), a function that asserts on them, or the
 * expected error. Do not `await` the chain (it has a `then`).
 */
export function deciderSpec<S, C, E>(decider: SpecDecider<S, C, E>) {
  return {
    given(events: readonly E[] = []) {
      const state = events.reduce(decider.evolve, decider.initialState());
      return {
        /** The state the given events fold to. */
        state,
        when(command: C) {
          const run = (): E[] => {
            const r = decider.decide(command, state);
            return (Array.isArray(r) ? [...r] : [r]) as E[];
          };
          return {
            then(expected: readonly E[] | ((events: E[], after: S) => void) | ExpectedError): void {
              if (isExpectedError(expected) && typeof expected !== 'function') {
                expect(run).toThrow();
                try {
                  run();
                } catch (e) {
                  if (expected instanceof RegExp) expect(String((e as Error).message)).toMatch(expected);
                  else expect(e).toMatchObject(expected);
                }
                return;
              }
              if (typeof expected === 'function' && expected.prototype instanceof Error) {
                expect(run).toThrow(expected as new () => Error);
                return;
              }
              const events = run();
              if (typeof expected === 'function')
                (expected as (events: E[], after: S) => void)(events, events.reduce(decider.evolve, state));
              else expect(events).toEqual(expected);
            },
          };
        },
      };
    },
  };
}
