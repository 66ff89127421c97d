import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  CLOCK_OPS,
  CREDIT_LEDGER_OPS,
  type ApplyCreditsReply,
  ApplyCreditsRequest,
  type ClockAdvanceToReply,
  ClockAdvanceToRequest,
  type ClockNextDueReply,
  ClockNextDueRequest,
} from '@meterflow/contracts';
import { contract } from '@meterflow/service-kit';
import { CreditLedgerService } from '../../application/credit-ledger.service.js';

/** Internal ops: invoicing's `credits.apply`, and the test-clock protocol. */
@Controller()
export class LedgerInternalController {
  constructor(private readonly ledger: CreditLedgerService) {}

  @MessagePattern(CREDIT_LEDGER_OPS.applyCredits)
  apply(@Payload(contract(ApplyCreditsRequest)) req: ApplyCreditsRequest): Promise<ApplyCreditsReply> {
    return this.ledger.applyCredits(req);
  }

  @MessagePattern(CLOCK_OPS.nextDue)
  nextDue(@Payload(contract(ClockNextDueRequest)) req: ClockNextDueRequest): Promise<ClockNextDueReply> {
    return this.ledger.nextDue(req.clock, req.after, req.upTo);
  }

  @MessagePattern(CLOCK_OPS.advanceTo)
  async advanceTo(@Payload(contract(ClockAdvanceToRequest)) req: ClockAdvanceToRequest): Promise<ClockAdvanceToReply> {
    await this.ledger.runDue(req.clock, req.to);
    return { done: true };
  }
}
