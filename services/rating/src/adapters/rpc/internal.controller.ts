import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  CLOCK_OPS,
  CLOCK_PROGRESS_OP,
  ClockProgressRequest,
  type ClockProgressReply,
  RATING_OPS,
  type ClockAdvanceToReply,
  ClockAdvanceToRequest,
  type ClockNextDueReply,
  ClockNextDueRequest,
  type RatePeriodReply,
  RatePeriodRequest,
  type RatePeriodsReply,
  RatePeriodsRequest,
  PREVIEW_OPS,
  PreviewSubscriptionInvoiceRequest,
  type PreviewSubscriptionInvoiceReply,
} from '@meterflow/contracts';
import { contract } from '@meterflow/service-kit';
import { PeriodCloseService } from '../../application/period-close.service.js';
import { PeriodRerating } from '../../application/period-rerating.js';
import { InvoicePreviewService } from '../../application/invoice-preview.service.js';
import { ThresholdInvoicing } from '../../application/threshold-invoicing.service.js';
import { TestClocksHandler } from '../../application/test-clocks.handler.js';

/** Ops other services call: the clock protocol, re-rating closed periods, invoice previews. */
@Controller()
export class InternalController {
  constructor(
    private readonly periods: PeriodCloseService,
    private readonly rerating: PeriodRerating,
    private readonly previews: InvoicePreviewService,
    private readonly thresholds: ThresholdInvoicing,
    private readonly clocks: TestClocksHandler,
  ) {}

  /** How far a test clock's advance is (operators' CLI, the console). */
  @MessagePattern(CLOCK_PROGRESS_OP)
  progress(@Payload(contract(ClockProgressRequest)) req: ClockProgressRequest): Promise<ClockProgressReply> {
    return this.clocks.progress(req.clock);
  }

  /** Invoice preview: what the subscription would be invoiced, nothing written. */
  @MessagePattern(PREVIEW_OPS.previewInvoice)
  previewInvoice(
    @Payload(contract(PreviewSubscriptionInvoiceRequest)) req: PreviewSubscriptionInvoiceRequest,
  ): Promise<PreviewSubscriptionInvoiceReply> {
    return this.previews.preview(req);
  }

  @MessagePattern(CLOCK_OPS.nextDue)
  async nextDue(@Payload(contract(ClockNextDueRequest)) req: ClockNextDueRequest): Promise<ClockNextDueReply> {
    return { at: await this.periods.nextDue(req.clock, req.after, req.upTo) };
  }

  @MessagePattern(CLOCK_OPS.advanceTo)
  async advanceTo(@Payload(contract(ClockAdvanceToRequest)) req: ClockAdvanceToRequest): Promise<ClockAdvanceToReply> {
    await this.thresholds.runDue(req.clock, req.to);
    await this.periods.runDue(req.clock, req.to);
    return { done: true };
  }

  @MessagePattern(RATING_OPS.ratePeriod)
  ratePeriod(@Payload(contract(RatePeriodRequest)) req: RatePeriodRequest): Promise<RatePeriodReply> {
    return this.rerating.ratePeriod(req);
  }

  /** Many `billing.rate_period` requests in one: one reply each, same order (an error item fails alone). */
  @MessagePattern(RATING_OPS.ratePeriods)
  async ratePeriods(@Payload(contract(RatePeriodsRequest)) req: RatePeriodsRequest): Promise<RatePeriodsReply> {
    return { results: await this.rerating.ratePeriods(req.requests) };
  }
}
