import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { EXPLANATION_OPS, type ExplainLinesReply, ExplainLinesRequest } from '@meterflow/contracts';
import { contract } from '@meterflow/service-kit';
import { LineExplanations } from '../../application/line-explanations.js';

/** `billing.explain_lines`: invoicing explaining an invoice's lines (issue 8 item 10). */
@Controller()
export class ExplanationController {
  constructor(private readonly lines: LineExplanations) {}

  @MessagePattern(EXPLANATION_OPS.explainLines)
  explainLines(@Payload(contract(ExplainLinesRequest)) req: ExplainLinesRequest): Promise<ExplainLinesReply> {
    return this.lines.explain(req);
  }
}
