import { Inject, Injectable } from '@nestjs/common';
import {
  InvoiceCreditsReinstated,
  InvoiceFundedCreditGrant,
  LedgerInvoiceCreditsApplied,
  type ApplyCreditsReply,
} from '@meterflow/contracts';
import type { CommandContext, UnitOfWork } from '@meterflow/event-store';
import { DomainError, newId } from '@meterflow/kernel';
import { fundingFromInvoice, type PaidInvoice } from '../domain/credit-funding.js';
import { createGrantCommand, nextTxnId } from './credit-grant.aggregate.js';
import { CUSTOMERS, GRANTS, PIPELINE, type Customers, type GrantAggregate, type Pipeline } from './ports.js';
import { streams } from './streams.js';

/** The transaction a consumer handles its message in (its inbox row commits with the appends). */
export type InboxTx = Parameters<Pipeline['runIn']>[0];

/**
 * What invoices do to the ledger after finalization: `invoice.voided` gives applied credits back
 * to their grants, `invoice.paid` with funding metadata creates the grant it pays for. Each runs
 * as one unit of work inside the consumer's inbox transaction, once per invoice.
 */
@Injectable()
export class InvoiceCreditsHandler {
  constructor(
    @Inject(PIPELINE) private readonly pipeline: Pipeline,
    @Inject(GRANTS) private readonly grants: GrantAggregate,
    @Inject(CUSTOMERS) private readonly customers: Customers,
  ) {}

  /** `invoice.voided`: every applied amount goes back to its grant. Returns how many applications were reinstated. */
  voided(tx: InboxTx, invoice: string, at: number, ctx: CommandContext): Promise<number> {
    return this.pipeline.runIn(tx, (uow) => this.reinstate(uow, invoice, at), ctx);
  }

  /** `invoice.paid`: the grant the invoice's metadata asks for (`testClock` as the invoice carries it, if it does). */
  paid(tx: InboxTx, inv: PaidInvoice, testClock: string | null | undefined, ctx: CommandContext): Promise<string | null> {
    return this.pipeline.runIn(tx, (uow) => this.fund(uow, inv, testClock), ctx);
  }

  private async reinstate(uow: UnitOfWork, invoice: string, at: number): Promise<number> {
    const history = await uow.store.readStream(streams.application(invoice), { tx: uow.tx });
    const applied = history.find((e) => e.type === LedgerInvoiceCreditsApplied.type);
    if (!applied || history.some((e) => e.type === InvoiceCreditsReinstated.type)) return 0;
    const apps = (applied.data as { applications: ApplyCreditsReply['applications'] }).applications;
    await uow.preload(
      this.grants,
      apps.map((a) => a.credit_grant),
    );
    const txns: string[] = [];
    for (const a of apps) {
      uow.executeLoaded(this.grants, a.credit_grant, { type: 'Tick', at, nextTxnId });
      const { events } = uow.executeLoaded(this.grants, a.credit_grant, {
        type: 'ReinstateApplication',
        invoice,
        line: a.line,
        at,
        nextTxnId,
      });
      for (const e of events) if (e.type === 'CreditBalanceTransactionRecorded') txns.push(e.data.id);
    }
    uow.record(streams.application(invoice), history.at(-1)!.streamPosition, [
      InvoiceCreditsReinstated({ invoice, at, credit_balance_transactions: txns }),
    ]);
    return apps.length;
  }

  /** Create the grant a paid invoice asks for, once per invoice (the funding stream is the claim). */
  private async fund(uow: UnitOfWork, inv: PaidInvoice, testClock: string | null | undefined): Promise<string | null> {
    const decision = fundingFromInvoice(inv);
    if (decision.kind === 'none') return null;
    if (decision.kind === 'invalid') throw new DomainError('credit_funding_invalid', `Invoice ${inv.id}: ${decision.reason}`);
    const history = await uow.store.readStream(streams.funding(inv.id), { tx: uow.tx });
    if (history.length > 0) return (history[0]!.data as { credit_grant: string }).credit_grant;
    let customer: { id: string; test_clock: string | null };
    if (testClock === undefined) customer = await this.customers.customer(inv.customer);
    else {
      // The invoice names its customer's clock (immutable): remember it instead of asking rating.
      customer = { id: inv.customer, test_clock: testClock };
      this.customers.remember(inv.customer, { ...customer, currency: null });
    }
    const id = newId('creditGrant');
    uow.fresh(this.grants, [id]);
    uow.executeLoaded(this.grants, id, createGrantCommand(id, customer, decision.request, inv.paid_at));
    uow.record(streams.funding(inv.id), 'no_stream', [InvoiceFundedCreditGrant({ invoice: inv.id, credit_grant: id })]);
    return id;
  }
}
