import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  CLOCK_OPS,
  RATING_OPS,
  type ClockAdvanceToReply,
  ClockAdvanceToRequest,
  type ClockNextDueReply,
  ClockNextDueRequest,
  type RatePeriodReply,
  RatePeriodRequest,
} from '@meterflow/contracts';
import { contract } from '@meterflow/service-kit';
import { PeriodCloseService } from '../../application/period-close.service.js';

/** Ops other services call: the clock protocol and re-rating a closed period. */
@Controller()
export class InternalController {
  constructor(private readonly periods: PeriodCloseService) {}

  @MessagePattern(CLOCK_OPS.nextDue)
  async nextDue(@Payload(contract(ClockNextDueRequest)) req: ClockNextDueRequest): Promise<ClockNextDueReply> {
    return { at: await this.periods.nextDue(req.clock, req.after, req.upTo) };
  }

  @MessagePattern(CLOCK_OPS.advanceTo)
  async advanceTo(@Payload(contract(ClockAdvanceToRequest)) req: ClockAdvanceToRequest): Promise<ClockAdvanceToReply> {
    await this.periods.runDue(req.clock, req.to);
    return { done: true };
  }

  @MessagePattern(RATING_OPS.ratePeriod)
  ratePeriod(@Payload(contract(RatePeriodRequest)) req: RatePeriodRequest): Promise<RatePeriodReply> {
    return this.periods.ratePeriod(req);
  }
}
