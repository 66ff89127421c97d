import type {
  ApplyCreditsReply,
  ApplyCreditsRequest,
  LineData,
  RatePeriodReply,
  RatePeriodRequest,
  RpcReply,
  Stripe,
} from '@meterflow/contracts';
import type { CommandContext, CommandPipeline, Loaded, UnitOfWork } from '@meterflow/event-store';
import { DomainError, newId, notFound } from '@meterflow/kernel';
import type { Invoice, InvoiceState } from '../domain/invoice.decider.js';
import { lineForRated } from '../domain/invoice-item.decider.js';
import { invoiceNumber, renderInvoice } from '../domain/invoice.render.js';
import { reRatedAtFinalization } from '../domain/subscription-invoice.rules.js';
import type { InvoicingAggregates } from './invoicing.aggregates.js';
import type { Customers, InvoiceRecords, Peers } from './ports.js';
import { finalizationDuration, invoicesFinalized } from './invoicing.metrics.js';

type CreditApplications = { line: string; amount: string; credit_balance_transaction: string; credit_grant: string }[];

/**
 * Finalization, shared by the `finalize` op, the real-time scheduler and test-clock advances:
 *   1. re-rate the subscription lines (usage that arrived during the grace period counts) and
 *      record them (one unit),
 *   2. ask the credit ledger which credits pay which metered lines,
 *   3. in one unit: record its answer, number the invoice and open it (paid at once when nothing
 *      is due; `FinalizeInvoice` in invoice.decider.ts).
 * A failure anywhere leaves a draft; a retry re-rates unless credits are recorded, and the
 * ledger (idempotent by invoice) gives the same answer again. The invoice read before asking
 * rating and the ledger is adopted by the units (no second read; a stale one is a version
 * conflict and the unit runs again on a fresh read).
 */
export class Finalization {
  constructor(
    private readonly pipeline: CommandPipeline,
    private readonly aggregates: InvoicingAggregates,
    private readonly peers: Peers,
    private readonly customers: Customers,
    private readonly records: InvoiceRecords,
  ) {}

  /** The `finalize` op: at the customer's "now" (its test clock's time, else the system's). */
  async finalizeNow(id: string, opts: { auto_advance?: boolean }, ctx: CommandContext): Promise<Stripe.Invoice> {
    const loaded = await this.read(id);
    const at = await this.customers.nowFor(loaded.state!);
    return this.finalize(id, at, opts, ctx, loaded);
  }

  async finalize(
    id: string,
    at: number,
    opts: { auto_advance?: boolean } = {},
    ctx: CommandContext = {},
    loaded?: Loaded<InvoiceState>,
  ): Promise<Stripe.Invoice> {
    const end = finalizationDuration.startTimer();
    try {
      const done = await this.run(id, at, opts, ctx, loaded ?? (await this.read(id)));
      invoicesFinalized.inc({ outcome: 'finalized' });
      return done;
    } catch (e) {
      invoicesFinalized.inc({ outcome: 'failed' });
      throw e;
    } finally {
      end();
    }
  }

  private async run(
    id: string,
    at: number,
    opts: { auto_advance?: boolean },
    ctx: CommandContext,
    loaded: Loaded<InvoiceState>,
  ): Promise<Stripe.Invoice> {
    const { invoice } = this.aggregates;
    let cur = loaded;
    const draft = cur.state!;
    if (draft.status !== 'draft')
      throw new DomainError(
        'status_transition_invalid',
        `You can only finalize an invoice that is \`draft\`. This invoice is \`${draft.status}\`.`,
      );

    // 1. re-rate
    if (isRerated(draft)) {
      const lines = await this.rerated(draft);
      if (lines.length > 0) {
        const before = cur;
        cur = await this.pipeline.run(async (uow, attempt) => {
          await this.take(uow, attempt, new Map([[id, before]]));
          uow.executeLoaded(invoice, id, { type: 'RefreshSubscriptionLines', at, lines });
          return uow.head(invoice, id);
        }, ctx);
      }
    }

    // 2. the ledger's answer, recorded in the unit that opens the invoice: a failure before the
    // commit leaves a draft, and the retry gets the same answer (idempotent by invoice).
    const applications = await this.credits(cur.state!, at);

    // 3. credits, number, open
    const before = cur;
    const customer = draft.customer;
    const done = await this.pipeline.run(async (uow, attempt) => {
      await this.take(uow, attempt, new Map([[id, before]]));
      if (applications) uow.executeLoaded(invoice, id, { type: 'RecordCreditApplications', at, applications });
      const range = (await this.records.reserveNumbers(uow.tx, new Map([[customer, 1]]))).get(customer)!;
      const command = {
        type: 'FinalizeInvoice' as const,
        at,
        number: invoiceNumber(range.prefix, range.first),
        ...(opts.auto_advance !== undefined ? { auto_advance: opts.auto_advance } : {}),
      };
      return uow.executeLoaded(invoice, id, command).state!;
    }, ctx);
    return renderInvoice(done);
  }

  /**
   * Finalize a batch of drafts due at the same time with a handful of round trips: the
   * subscription drafts are re-rated in one `billing.rate_periods` request and their new lines
   * recorded in one unit; the ledger answers for all in one `credits.apply_many`; credits,
   * numbers and opening of all are recorded in a second unit (one append, one projection).
   * Invoices no longer drafts are skipped. If anything fails, the batch falls back to finalizing
   * one invoice at a time (`finalize`), which reports individual failures (every step is
   * idempotent, so work the batch did is found again, not repeated).
   */
  async finalizeMany(
    batch: readonly { id: string; at: number }[],
    opts: { onError?: (id: string, e: unknown) => void } = {},
  ): Promise<void> {
    if (batch.length === 0) return;
    try {
      const n = await this.runMany(batch);
      invoicesFinalized.inc({ outcome: 'finalized' }, n);
    } catch {
      for (const b of batch) {
        try {
          const l = await this.draftOrNull(b.id);
          if (l) await this.finalize(b.id, b.at, {}, {}, l);
        } catch (e) {
          // Finalized meanwhile by another call (another replica, the `finalize` op): its work, not a failure.
          if (!(await this.draftOrNull(b.id).then(Boolean, () => true))) continue;
          if (!opts.onError) throw e;
          opts.onError(b.id, e);
        }
      }
    }
  }

  private async runMany(batch: readonly { id: string; at: number }[]): Promise<number> {
    const { invoice } = this.aggregates;
    const loaded = await this.pipeline.read(
      invoice,
      batch.map((b) => b.id),
    );
    const draftOf = (id: string): Invoice => loaded.get(id)!.state!;
    const work = batch.filter((b) => {
      const s = loaded.get(b.id)?.state;
      return s && !s.deleted && s.status === 'draft';
    });

    // 1. re-rate all in one request; record the lines that changed in one unit
    const toRerate = work.filter((b) => isRerated(draftOf(b.id)));
    const rated = await this.peers.ratePeriods(toRerate.map((b) => ratePeriodRequest(draftOf(b.id))));
    const refresh = toRerate.flatMap((b, i) => {
      const lines = reratedLines(draftOf(b.id), answer(rated[i]!));
      return lines.length > 0 ? [{ ...b, lines }] : [];
    });
    if (refresh.length > 0) {
      const before = new Map(loaded);
      const heads = await this.pipeline.run(async (uow, attempt) => {
        await this.take(uow, attempt, before);
        for (const r of refresh) uow.executeLoaded(invoice, r.id, { type: 'RefreshSubscriptionLines', at: r.at, lines: r.lines });
        return refresh.map((r) => [r.id, uow.head(invoice, r.id)] as const);
      });
      for (const [id, head] of heads) loaded.set(id, head);
    }

    // 2. the ledger's answers, in one request
    const asks = work.flatMap((b) => {
      const req = creditsRequest(draftOf(b.id), b.at);
      return req ? [{ id: b.id, req }] : [];
    });
    const replies = await this.peers.applyCreditsMany(asks.map((a) => a.req));
    const applications = new Map<string, CreditApplications>();
    asks.forEach((a, i) => {
      const r = replies[i];
      if (!r) throw new Error(`credits.apply_many answered ${replies.length} of ${asks.length} requests`);
      if (!r.ok) throw DomainError.fromShape(r.error);
      applications.set(a.id, toApplications(r.result));
    });

    // 3. credits, numbers (each customer's in turn) and opening of all, in one unit
    const counts = new Map<string, number>();
    for (const b of work) counts.set(draftOf(b.id).customer, (counts.get(draftOf(b.id).customer) ?? 0) + 1);
    const before = new Map(loaded);
    await this.pipeline.run(async (uow, attempt) => {
      await this.take(uow, attempt, before);
      const next = await this.records.reserveNumbers(uow.tx, counts);
      for (const b of work) {
        const range = next.get(draftOf(b.id).customer)!;
        const seq = range.first++;
        const apps = applications.get(b.id);
        if (apps) uow.executeLoaded(invoice, b.id, { type: 'RecordCreditApplications', at: b.at, applications: apps });
        uow.executeLoaded(invoice, b.id, { type: 'FinalizeInvoice', at: b.at, number: invoiceNumber(range.prefix, seq) });
      }
    });
    return work.length;
  }

  /** The invoices as read before the unit (its first attempt), else read afresh. */
  private async take(uow: UnitOfWork, attempt: number, loaded: ReadonlyMap<string, Loaded<InvoiceState>>): Promise<void> {
    if (attempt === 1) uow.adopt(this.aggregates.invoice, loaded);
    else await uow.preload(this.aggregates.invoice, [...loaded.keys()]);
  }

  /** The invoice if it is (still) a draft. */
  private async draftOrNull(id: string): Promise<Loaded<InvoiceState> | null> {
    const l = (await this.pipeline.read(this.aggregates.invoice, [id])).get(id)!;
    return l.state && !l.state.deleted && l.state.status === 'draft' ? l : null;
  }

  /** The invoice, or Stripe's 404. */
  private async read(id: string): Promise<Loaded<InvoiceState>> {
    const loaded = (await this.pipeline.read(this.aggregates.invoice, [id])).get(id)!;
    if (!loaded.state || loaded.state.deleted) throw notFound('invoice', id);
    return loaded;
  }

  /** The subscription's lines re-rated, keeping each line's id per subscription item. */
  private async rerated(inv: Invoice): Promise<LineData[]> {
    const rated = await this.peers
      .ratePeriod(ratePeriodRequest(inv))
      // A subscription rating no longer knows keeps the lines it handed over.
      .catch((e: unknown) => {
        if (e instanceof DomainError && e.code === 'resource_missing') return { lines: [] };
        throw e;
      });
    return reratedLines(inv, rated);
  }

  /** The ledger's answer for this invoice, or null when it has nothing to ask (no metered amount, or already recorded). */
  private async credits(inv: Invoice, at: number): Promise<CreditApplications | null> {
    const req = creditsRequest(inv, at);
    return req ? toApplications(await this.peers.applyCredits(req)) : null;
  }
}

/** Only drafts rating handed over, before credits, and not creation invoices (domain/subscription-invoice.rules.ts). */
const isRerated = reRatedAtFinalization;

const ratePeriodRequest = (inv: Invoice): RatePeriodRequest => ({
  subscription: inv.subscription!,
  period_start: inv.period_start,
  period_end: inv.period_end,
  ...ratedReason(inv.billing_reason),
});

function reratedLines(inv: Invoice, rated: RatePeriodReply): LineData[] {
  return rated.lines.map((r) => {
    const same = inv.lines.find(
      (l) => l.subscription_item === r.subscription_item && l.period.start === r.period.start && l.type === 'subscription_item_details',
    );
    return lineForRated(r, same?.id ?? newId('invoiceLineItem'), inv.subscription!);
  });
}

/** One `billing.rate_periods` answer; a subscription rating no longer knows keeps the lines it handed over. */
function answer(r: RpcReply<RatePeriodReply>): RatePeriodReply {
  if (r.ok) return r.result;
  if (r.error.code === 'resource_missing') return { lines: [] };
  throw DomainError.fromShape(r.error);
}

/** What to ask the ledger for this invoice, or null when nothing (no metered amount, or already recorded). */
function creditsRequest(inv: Invoice, at: number): ApplyCreditsRequest | null {
  if (inv.credits_applied || !inv.lines.some((l) => l.metered && l.amount > 0n)) return null;
  return {
    invoice: inv.id,
    customer: inv.customer,
    currency: inv.currency,
    at,
    test_clock: inv.test_clock,
    lines: inv.lines.map((l) => ({ id: l.id, amount: Number(l.amount), price: l.price, metered: l.metered })),
  };
}

const toApplications = (reply: ApplyCreditsReply): CreditApplications =>
  reply.applications.map((a) => ({ ...a, amount: String(a.amount) }));

/** The billing_reason rating can match (a rating-made invoice's reason; not `manual`, which rating never closes). */
const ratedReason = (reason: Invoice['billing_reason']): { billing_reason?: RatePeriodRequest['billing_reason'] } =>
  reason === 'subscription_cycle' ||
  reason === 'subscription_create' ||
  reason === 'subscription_update' ||
  reason === 'subscription_threshold'
    ? { billing_reason: reason }
    : {};

export type { Invoice };
