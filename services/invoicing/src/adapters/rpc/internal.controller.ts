import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  CLOCK_OPS,
  INVOICING_OPS,
  type ClockAdvanceToReply,
  ClockAdvanceToRequest,
  type ClockNextDueReply,
  ClockNextDueRequest,
  CreateSubscriptionInvoiceRequest,
} from '@meterflow/contracts';
import { contract } from '@meterflow/service-kit';
import { InvoiceCommands } from '../../application/invoice-commands.js';
import { DueInvoices } from '../../application/due-invoices.js';

/** Ops other services call: rating hands over closed periods, and test clocks advance. */
@Controller()
export class InternalController {
  constructor(
    @Inject(InvoiceCommands) private readonly commands: InvoiceCommands,
    @Inject(DueInvoices) private readonly due: DueInvoices,
  ) {}

  @MessagePattern(INVOICING_OPS.createSubscriptionInvoice)
  createSubscriptionInvoice(@Payload(contract(CreateSubscriptionInvoiceRequest)) req: CreateSubscriptionInvoiceRequest) {
    return this.commands.createSubscriptionInvoice(req);
  }

  @MessagePattern(CLOCK_OPS.nextDue)
  async nextDue(@Payload(contract(ClockNextDueRequest)) req: ClockNextDueRequest): Promise<ClockNextDueReply> {
    return { at: await this.due.nextDue(req.clock, req.after, req.upTo) };
  }

  @MessagePattern(CLOCK_OPS.advanceTo)
  async advanceTo(@Payload(contract(ClockAdvanceToRequest)) req: ClockAdvanceToRequest): Promise<ClockAdvanceToReply> {
    await this.due.advanceTo(req.clock, req.to);
    return { done: true };
  }
}
