import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  CLOCK_OPS,
  INVOICING_OPS,
  ClockAdvancePartitionRequest,
  type ClockAdvancePartitionReply,
  type ClockAdvanceToReply,
  ClockAdvanceToRequest,
  type ClockNextDueReply,
  ClockNextDueRequest,
  CreateSubscriptionInvoiceRequest,
  CreateSubscriptionInvoicesEnvelope,
  type CreateSubscriptionInvoicesReply,
} from '@meterflow/contracts';
import { toErrorShape } from '@meterflow/messaging';
import { contract, contractViolation } from '@meterflow/service-kit';
import { SubscriptionInvoices } from '../../application/subscription-invoices.js';
import { DueInvoices } from '../../application/due-invoices.js';
import { finalizeCreationInvoices } from '../../application/creation-invoices.js';
import { Finalization } from '../../application/finalization.js';

/** Ops other services call: rating hands over closed periods, and test clocks advance. */
@Controller()
export class InternalController {
  constructor(
    @Inject(SubscriptionInvoices) private readonly commands: SubscriptionInvoices,
    @Inject(DueInvoices) private readonly due: DueInvoices,
    @Inject(Finalization) private readonly finalization: Finalization,
  ) {}

  @MessagePattern(INVOICING_OPS.createSubscriptionInvoice)
  async createSubscriptionInvoice(@Payload(contract(CreateSubscriptionInvoiceRequest)) req: CreateSubscriptionInvoiceRequest) {
    const [outcome] = await this.commands.createSubscriptionInvoices([req]);
    await finalizeCreationInvoices(this.finalization, [req], [outcome!]);
    return this.commands.createSubscriptionInvoice(req);
  }

  /** Many hand-overs: each item parsed on its own (a malformed one fails alone), one result per item. */
  @MessagePattern(INVOICING_OPS.createSubscriptionInvoices)
  async createSubscriptionInvoices(
    @Payload(contract(CreateSubscriptionInvoicesEnvelope)) req: CreateSubscriptionInvoicesEnvelope,
  ): Promise<CreateSubscriptionInvoicesReply> {
    const parsed = req.requests.map((r) => CreateSubscriptionInvoiceRequest.safeParse(r));
    const valid = parsed.flatMap((p) => (p.success ? [p.data] : []));
    const outcomes = await this.commands.createSubscriptionInvoices(valid);
    await finalizeCreationInvoices(this.finalization, valid, outcomes);
    let next = 0;
    return {
      results: parsed.map((p) => {
        if (!p.success) return { ok: false as const, error: contractViolation(p.error).toShape() };
        const o = outcomes[next++]!;
        return o.ok ? { ok: true as const, result: { id: o.id } } : { ok: false as const, error: toErrorShape(o.error) };
      }),
    };
  }

  @MessagePattern(CLOCK_OPS.nextDue)
  async nextDue(@Payload(contract(ClockNextDueRequest)) req: ClockNextDueRequest): Promise<ClockNextDueReply> {
    return { at: await this.due.nextDue(req.clock, req.after, req.upTo) };
  }

  @MessagePattern(CLOCK_OPS.advanceTo)
  async advanceTo(@Payload(contract(ClockAdvanceToRequest)) req: ClockAdvanceToRequest): Promise<ClockAdvanceToReply> {
    return { done: (await this.due.advanceTo(req.clock, req.to)).done };
  }

  /** One part (by customer) of a clock's close, asked for by whichever replica rating asked (docs/architecture.md, "Scaling out"). */
  @MessagePattern(INVOICING_OPS.advancePartition)
  advancePartition(
    @Payload(contract(ClockAdvancePartitionRequest)) req: ClockAdvancePartitionRequest,
  ): Promise<ClockAdvancePartitionReply> {
    return this.due.advancePart(req.clock, req.to, { partition: req.partition, partitions: req.partitions });
  }
}
