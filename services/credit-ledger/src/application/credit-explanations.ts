import { Inject, Injectable } from '@nestjs/common';
import {
  InvoiceCreditsReinstated,
  LedgerInvoiceCreditsApplied,
  type ApplyCreditsReply,
  type CreditExplanation,
  type ExplainCreditsReply,
  type Stripe,
} from '@meterflow/contracts';
import type { GrantState } from '../domain/credit-grant.decider.js';
import { explainGrantOrder } from '../domain/grant-order.js';
import { GRANTS, PIPELINE, TRANSACTION_READS, type GrantAggregate, type Pipeline, type TransactionReads } from './ports.js';
import { streams } from './streams.js';

/**
 * `credits.explain`: the credits an invoice drew (its `credit_application-<invoice>` stream), each
 * with its grant's terms, why it came in that order (domain/grant-order.ts, over the grants this
 * invoice drew on, as they stand now), its ledger debit, and the credit that reinstated it if the
 * invoice was voided. Issue 8 item 10.
 */
@Injectable()
export class CreditExplanations {
  constructor(
    @Inject(PIPELINE) private readonly pipeline: Pipeline,
    @Inject(GRANTS) private readonly grants: GrantAggregate,
    @Inject(TRANSACTION_READS) private readonly transactions: TransactionReads,
  ) {}

  async explain(invoice: string): Promise<ExplainCreditsReply> {
    const history = await this.pipeline.store.readStream(streams.application(invoice));
    const applied = history.find((e) => e.type === LedgerInvoiceCreditsApplied.type);
    if (!applied) return { applied_at: null, credits: [] };
    const data = applied.data as { at: number; applications: ApplyCreditsReply['applications'] };
    const reinstated = history.find((e) => e.type === InvoiceCreditsReinstated.type)?.data as
      { credit_balance_transactions: string[] } | undefined;

    const loaded = await this.pipeline.read(this.grants, [...new Set(data.applications.map((a) => a.credit_grant))]);
    const states = [...loaded.values()].map((l) => l.state).filter((s): s is GrantState => s.exists);
    const order = explainGrantOrder(states);
    const [debits, credits] = await Promise.all([
      this.retrieveAll(data.applications.map((a) => a.credit_balance_transaction)),
      this.retrieveAll(reinstated?.credit_balance_transactions ?? []),
    ]);
    const reinstatedBy = (grant: string, line: string): string | null =>
      [...credits.values()].find(
        (c) => c.credit_grant === grant && c.credit?.credits_application_invoice_voided?.invoice_line_item === line,
      )?.id ?? null;

    const out: CreditExplanation[] = data.applications.map((a) => {
      const g = loaded.get(a.credit_grant)?.state;
      const o = order.get(a.credit_grant) ?? { rank: 1, before_next_by: null, reason: 'grant not found' };
      return {
        line: a.line,
        amount: a.amount,
        credit_grant: a.credit_grant,
        credit_balance_transaction: a.credit_balance_transaction,
        grant: {
          id: a.credit_grant,
          name: g?.name ?? null,
          category: g?.category ?? 'paid',
          priority: g?.priority ?? 50,
          expires_at: g?.expiresAt ?? null,
          effective_at: g?.effectiveAt ?? 0,
          created: g?.created ?? 0,
          applies_to: { price_type: g?.scope.price_type ?? null, prices: g?.scope.prices ?? null },
        },
        order: o,
        ledger_entry: (debits.get(a.credit_balance_transaction) ?? { id: a.credit_balance_transaction, missing: true }) as Record<
          string,
          unknown
        >,
        reinstated_by: reinstatedBy(a.credit_grant, a.line),
      };
    });
    return { applied_at: data.at, credits: out };
  }

  private async retrieveAll(ids: readonly string[]): Promise<Map<string, Stripe.Billing.CreditBalanceTransaction>> {
    const found = await Promise.all(ids.map((id) => this.transactions.retrieve(id)));
    return new Map(found.flatMap((t) => (t ? [[t.id, t] as const] : [])));
  }
}
