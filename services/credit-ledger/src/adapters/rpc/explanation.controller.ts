import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { EXPLANATION_OPS, type ExplainCreditsReply, ExplainCreditsRequest } from '@meterflow/contracts';
import { contract } from '@meterflow/service-kit';
import { CreditExplanations } from '../../application/credit-explanations.js';

/** `credits.explain`: invoicing explaining an invoice's credits (issue 8 item 10). */
@Controller()
export class ExplanationController {
  constructor(private readonly credits: CreditExplanations) {}

  @MessagePattern(EXPLANATION_OPS.explainCredits)
  explainCredits(@Payload(contract(ExplainCreditsRequest)) req: ExplainCreditsRequest): Promise<ExplainCreditsReply> {
    return this.credits.explain(req.invoice);
  }
}
