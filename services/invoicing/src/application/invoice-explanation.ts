import type { InvoiceExplanation } from '@meterflow/contracts';
import type { CommandPipeline } from '@meterflow/event-store';
import { notFound } from '@meterflow/kernel';
import { assembleExplanation, explainLinesRequest } from '../domain/invoice-explanation.js';
import type { InvoicingAggregates } from './invoicing.aggregates.js';
import type { ExplanationPeers } from './ports.js';

/**
 * `invoices.explanation` (`GET /meterflow/v1/invoices/:id/explanation`): any invoice, draft,
 * open, paid or void, explained line by line and credit by credit (issue 8 item 10). Reads the
 * invoice from its stream, asks rating and the ledger at once, writes nothing.
 */
export class InvoiceExplanations {
  constructor(
    private readonly pipeline: CommandPipeline,
    private readonly aggregates: InvoicingAggregates,
    private readonly peers: ExplanationPeers,
  ) {}

  async explain(id: string): Promise<InvoiceExplanation> {
    const inv = (await this.pipeline.read(this.aggregates.invoice, [id])).get(id)?.state;
    if (!inv || inv.deleted) throw notFound('invoice', id);
    const req = explainLinesRequest(inv);
    const [rated, credits] = await Promise.all([
      req.lines.length > 0 ? this.peers.explainLines(req) : Promise.resolve({ results: {} }),
      inv.lines.some((l) => l.credits.length > 0)
        ? this.peers.explainCredits({ invoice: id })
        : Promise.resolve({ applied_at: null, credits: [] }),
    ]);
    return assembleExplanation(inv, rated, credits);
  }
}
