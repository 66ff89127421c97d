/** Time is a port: domain code never reads the system clock, it is handed instants. */
export interface Clock {
  now(): Date;
}

export const CLOCK = Symbol('CLOCK');

export class SystemClock implements Clock {
  now(): Date {
    return new Date();
  }
}

/** A clock that stands still until told to move; used by tests and by Stripe test clocks. */
export class FrozenClock implements Clock {
  constructor(private frozenAt: Date) {}
  now(): Date {
    return new Date(this.frozenAt.getTime());
  }
  set(to: Date): void {
    this.frozenAt = new Date(to.getTime());
  }
}

/** Unix seconds, the unit of every timestamp at the Stripe API edge. */
export const toUnix = (d: Date): number => Math.floor(d.getTime() / 1000);
export const fromUnix = (s: number): Date => new Date(s * 1000);
