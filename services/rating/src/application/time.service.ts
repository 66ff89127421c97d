import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, toUnix, type Clock } from '@meterflow/kernel';
import { TEST_CLOCKS, type TestClockRepository } from '../adapters/persistence/repositories.js';

/** "Now" for an object: the system clock, or its test clock's frozen time. */
@Injectable()
export class TimeService {
  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(TEST_CLOCKS) private readonly clocks: TestClockRepository,
  ) {}

  systemNow(): number {
    return toUnix(this.clock.now());
  }

  async now(testClock: string | null): Promise<number> {
    if (!testClock) return this.systemNow();
    const { state } = await this.clocks.load(testClock);
    return state?.frozen_time ?? this.systemNow();
  }
}
