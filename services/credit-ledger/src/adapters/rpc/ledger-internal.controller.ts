import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  CLOCK_ADVANCE_BUDGET_MS,
  CLOCK_OPS,
  CREDIT_LEDGER_OPS,
  ApplyCreditsManyEnvelope,
  type ApplyCreditsManyReply,
  type ApplyCreditsReply,
  ApplyCreditsRequest,
  type ClockAdvanceToReply,
  ClockAdvanceToRequest,
  type ClockNextDueReply,
  ClockNextDueRequest,
  PREVIEW_OPS,
  PreviewCreditsRequest,
  type PreviewCreditsReply,
} from '@meterflow/contracts';
import { toErrorShape } from '@meterflow/messaging';
import type { Logger } from '@meterflow/observability';
import { contract, contractViolation, LOGGER } from '@meterflow/service-kit';
import { ApplyCreditsHandler } from '../../application/apply-credits.handler.js';
import { GrantScheduleHandler } from '../../application/grant-schedule.handler.js';
import { PreviewCreditsHandler } from '../../application/preview-credits.handler.js';

/** Internal ops: invoicing's `credits.apply`, `credits.apply_many` and `credits.preview`, and the test-clock protocol. */
@Controller()
export class LedgerInternalController {
  constructor(
    private readonly credits: ApplyCreditsHandler,
    private readonly schedule: GrantScheduleHandler,
    private readonly previews: PreviewCreditsHandler,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @MessagePattern(CREDIT_LEDGER_OPS.applyCredits)
  apply(@Payload(contract(ApplyCreditsRequest)) req: ApplyCreditsRequest): Promise<ApplyCreditsReply> {
    return this.credits.apply(req);
  }

  /** Each item is parsed on its own: a malformed one is answered with its own 400, the others go through. */
  @MessagePattern(CREDIT_LEDGER_OPS.applyCreditsMany)
  async applyMany(@Payload(contract(ApplyCreditsManyEnvelope)) req: ApplyCreditsManyEnvelope): Promise<ApplyCreditsManyReply> {
    const parsed = req.requests.map((item) => ApplyCreditsRequest.safeParse(item));
    const outcomes = await this.credits.applyMany(parsed.flatMap((p) => (p.success ? [p.data] : [])));
    let next = 0;
    return {
      results: parsed.map((p, i) => {
        if (!p.success) return { ok: false as const, error: contractViolation(p.error).toShape() };
        const o = outcomes[next++]!;
        if (o.ok) return o;
        const error = toErrorShape(o.error);
        if (error.status >= 500)
          this.logger.error({ err: o.error, op: CREDIT_LEDGER_OPS.applyCreditsMany, item: i }, 'credits.apply_many item failed');
        return { ok: false as const, error };
      }),
    };
  }

  /** Invoice preview: the credits that would apply, nothing written. */
  @MessagePattern(PREVIEW_OPS.previewCredits)
  previewCredits(@Payload(contract(PreviewCreditsRequest)) req: PreviewCreditsRequest): Promise<PreviewCreditsReply> {
    return this.previews.preview(req);
  }

  @MessagePattern(CLOCK_OPS.nextDue)
  nextDue(@Payload(contract(ClockNextDueRequest)) req: ClockNextDueRequest): Promise<ClockNextDueReply> {
    return this.schedule.nextDue(req.clock, req.after, req.upTo);
  }

  @MessagePattern(CLOCK_OPS.advanceTo)
  async advanceTo(@Payload(contract(ClockAdvanceToRequest)) req: ClockAdvanceToRequest): Promise<ClockAdvanceToReply> {
    const { done } = await this.schedule.runDue(req.clock, req.to, CLOCK_ADVANCE_BUDGET_MS);
    return { done };
  }
}
