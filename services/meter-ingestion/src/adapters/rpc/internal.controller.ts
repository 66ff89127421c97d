import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  CLOCK_OPS,
  INGESTION_OPS,
  type ClockAdvanceToReply,
  ClockAdvanceToRequest,
  type ClockNextDueReply,
  ClockNextDueRequest,
  UsageQueryRequest,
} from '@meterflow/contracts';
import { contract } from '@meterflow/service-kit';
import { UsageService } from '../../application/usage.service.js';
import { WriteQueue } from '../../application/write-queue.js';

/** Ops other services call: usage queries (rating) and the test-clock protocol. */
@Controller()
export class InternalController {
  constructor(
    private readonly usage: UsageService,
    private readonly queue: WriteQueue,
  ) {}

  @MessagePattern(INGESTION_OPS.usageQuery)
  query(@Payload(contract(UsageQueryRequest)) req: UsageQueryRequest) {
    return this.usage.query(req);
  }

  /** Ingestion schedules nothing by clock time (alerts are evaluated as usage arrives). */
  @MessagePattern(CLOCK_OPS.nextDue)
  nextDue(@Payload(contract(ClockNextDueRequest)) _req: ClockNextDueRequest): ClockNextDueReply {
    return { at: null };
  }

  /** Nothing is due; usage already accepted is written before the ack so rating reads it all. */
  @MessagePattern(CLOCK_OPS.advanceTo)
  async advanceTo(@Payload(contract(ClockAdvanceToRequest)) _req: ClockAdvanceToRequest): Promise<ClockAdvanceToReply> {
    await this.queue.flushed();
    return { done: true };
  }
}
