import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, toUnix, type Clock } from '@meterflow/kernel';
import { READ_MODELS, type RatingReadModels } from './ports.js';

/** "Now" for an object: the system clock, or its test clock's frozen time. */
@Injectable()
export class TimeService {
  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(READ_MODELS) private readonly models: RatingReadModels,
  ) {}

  systemNow(): number {
    return toUnix(this.clock.now());
  }

  async now(testClock: string | null): Promise<number> {
    if (!testClock) return this.systemNow();
    const state = await this.models.testClocks.get(testClock);
    return state?.frozen_time ?? this.systemNow();
  }
}
