import type { RpcClient } from '@meterflow/messaging';
import {
  EXPLANATION_OPS,
  type ExplainCreditsReply,
  type ExplainCreditsRequest,
  type ExplainLinesReply,
  type ExplainLinesRequest,
} from '@meterflow/contracts';
import type { ExplanationPeers } from '../../application/ports.js';

/** rating's `billing.explain_lines` and the ledger's `credits.explain`, over NATS request/reply. */
export class RpcExplanationPeers implements ExplanationPeers {
  constructor(private readonly rpc: RpcClient) {}

  explainLines(req: ExplainLinesRequest): Promise<ExplainLinesReply> {
    return this.rpc.request<ExplainLinesReply>('rating', EXPLANATION_OPS.explainLines, req);
  }

  explainCredits(req: ExplainCreditsRequest): Promise<ExplainCreditsReply> {
    return this.rpc.request<ExplainCreditsReply>('credit-ledger', EXPLANATION_OPS.explainCredits, req);
  }
}
