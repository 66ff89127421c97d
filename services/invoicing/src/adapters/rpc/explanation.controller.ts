import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ApiRequest, InvoiceExplanation } from '@meterflow/contracts';
import { rejectUnknown } from '@meterflow/stripe-api';
import { InvoiceExplanations } from '../../application/invoice-explanation.js';

/** `invoices.explanation`: `GET /meterflow/v1/invoices/:id/explanation` (API_ROUTES; issue 8 item 10). */
@Controller()
export class ExplanationController {
  constructor(@Inject(InvoiceExplanations) private readonly explanations: InvoiceExplanations) {}

  @MessagePattern('invoices.explanation')
  explain(@Payload() req: ApiRequest): Promise<InvoiceExplanation> {
    rejectUnknown(req.params, []);
    return this.explanations.explain(req.path.id!);
  }
}
