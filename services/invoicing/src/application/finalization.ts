import type pg from 'pg';
import type {
  ApplyCreditsReply,
  ApplyCreditsRequest,
  LineData,
  RatePeriodReply,
  RatePeriodRequest,
  RpcReply,
  Stripe,
} from '@meterflow/contracts';
import { DomainError, newId, notFound } from '@meterflow/kernel';
import type { Invoice } from '../domain/invoice.decider.js';
import { lineForRated } from '../domain/invoice-item.decider.js';
import { invoiceNumber, renderInvoice } from '../domain/invoice.render.js';
import type { InvoiceStore, PlannedChange, RequestContext } from './invoice-store.js';
import type { Peers } from './ports.js';
import { finalizationDuration, invoicesFinalized } from './invoicing.metrics.js';

/**
 * Finalization, shared by the `finalize` op, the real-time scheduler and test-clock advances:
 *   1. re-rate the subscription lines (usage that arrived during the grace period counts) and
 *      record them,
 *   2. ask the credit ledger which credits pay which metered lines,
 *   3. in one transaction: record its answer, number the invoice and open it (paid at once
 *      when nothing is due).
 * A failure anywhere leaves a draft; a retry re-rates unless credits are recorded, and the
 * ledger (idempotent by invoice) gives the same answer again.
 */
export class Finalization {
  constructor(
    private readonly store: InvoiceStore,
    private readonly peers: Peers,
  ) {}

  async finalize(id: string, at: number, opts: { auto_advance?: boolean } = {}, ctx: RequestContext = {}): Promise<Stripe.Invoice> {
    const end = finalizationDuration.startTimer();
    try {
      const done = await this.run(id, at, opts, ctx);
      invoicesFinalized.inc({ outcome: 'finalized' });
      return done;
    } catch (e) {
      invoicesFinalized.inc({ outcome: 'failed' });
      throw e;
    } finally {
      end();
    }
  }

  private async run(id: string, at: number, opts: { auto_advance?: boolean }, ctx: RequestContext): Promise<Stripe.Invoice> {
    let loaded = await this.store.loadInvoice(id);
    let inv = loaded.state;
    if (!inv || inv.deleted) throw notFound('invoice', id);
    if (inv.status !== 'draft')
      throw new DomainError(
        'status_transition_invalid',
        `You can only finalize an invoice that is \`draft\`. This invoice is \`${inv.status}\`.`,
      );

    if (inv.subscription && inv.idempotency_key !== null && !inv.credits_applied) {
      // Only drafts rating handed over (they carry its idempotency key) are re-rated.
      const lines = await this.rerated(inv);
      if (lines.length > 0) {
        const before = loaded;
        loaded = await this.store.transaction((tx, attempt) =>
          this.store.execInvoiceAt(tx, id, { type: 'RefreshSubscriptionLines', at, lines }, ctx, attempt === 1 ? before : undefined),
        );
        inv = loaded.state!;
      }
    }

    // The ledger's answer is recorded in the same transaction that opens the invoice: a failure
    // before the commit leaves a draft, and the retry gets the same answer (idempotent by invoice).
    const applications = await this.credits(inv, at);

    const before = loaded;
    const customer = inv.customer;
    const done = await this.store.transaction(async (tx: pg.PoolClient, attempt) => {
      let cur: { state: Invoice | null; version: number } | undefined = attempt === 1 ? before : undefined;
      if (applications)
        cur = await this.store.execInvoiceAt(tx, id, { type: 'RecordCreditApplications', at, applications }, ctx, cur, { project: false });
      const number = await this.store.nextNumber(tx, customer);
      const command = {
        type: 'FinalizeInvoice' as const,
        at,
        number,
        ...(opts.auto_advance !== undefined ? { auto_advance: opts.auto_advance } : {}),
      };
      return (await this.store.execInvoiceAt(tx, id, command, ctx, cur)).state;
    });
    return renderInvoice(done);
  }

  /**
   * Finalize a batch of drafts due at the same time with a handful of round trips: the
   * subscription drafts are re-rated in one `billing.rate_periods` request and their new lines
   * recorded in one transaction; the ledger answers for all in one `credits.apply_many`; credits,
   * numbers and opening of all are recorded in a second transaction. Invoices no longer drafts
   * are skipped. If anything fails, the batch falls back to finalizing one invoice at a time
   * (`finalize`), which reports individual failures (every step is idempotent, so work the batch
   * did is found again, not repeated).
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
          const { state } = await this.store.loadInvoice(b.id);
          if (state && !state.deleted && state.status === 'draft') await this.finalize(b.id, b.at);
        } catch (e) {
          if (!opts.onError) throw e;
          opts.onError(b.id, e);
        }
      }
    }
  }

  private async runMany(batch: readonly { id: string; at: number }[]): Promise<number> {
    const loaded = await this.store.loadInvoices(batch.map((b) => b.id));
    const work = batch.filter((b) => {
      const s = loaded.get(b.id)?.state;
      return s && !s.deleted && s.status === 'draft';
    });

    const toRerate = work.filter((b) => isRerated(loaded.get(b.id)!.state!));
    const rated = await this.peers.ratePeriods(toRerate.map((b) => ratePeriodRequest(loaded.get(b.id)!.state!)));
    const refreshed: PlannedChange[] = [];
    toRerate.forEach((b, i) => {
      const cur = loaded.get(b.id)!;
      const lines = this.reratedLines(cur.state!, answer(rated[i]!));
      if (lines.length === 0) return;
      const change = this.store.planInvoice(b.id, cur, { type: 'RefreshSubscriptionLines', at: b.at, lines });
      if (change.events.length > 0) refreshed.push(change);
    });
    if (refreshed.length > 0) {
      await this.store.events.withTransaction((tx) => this.store.appendPlanned(tx, refreshed));
      for (const c of refreshed) loaded.set(c.id, { state: c.state, version: c.fromVersion + c.events.length });
    }

    const asks = work.flatMap((b) => {
      const req = creditsRequest(loaded.get(b.id)!.state!, b.at);
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

    await this.store.events.withTransaction(async (tx) => {
      const counts = new Map<string, number>();
      for (const b of work) {
        const c = loaded.get(b.id)!.state!.customer;
        counts.set(c, (counts.get(c) ?? 0) + 1);
      }
      const next = await this.store.reserveNumbers(tx, counts);
      const changes: PlannedChange[] = [];
      for (const b of work) {
        let cur = loaded.get(b.id)!;
        const customer = cur.state!.customer;
        const seq = next.get(customer)!;
        next.set(customer, seq + 1);
        const apps = applications.get(b.id);
        const parts: PlannedChange[] = [];
        if (apps) {
          const c1 = this.store.planInvoice(b.id, cur, { type: 'RecordCreditApplications', at: b.at, applications: apps });
          parts.push(c1);
          cur = { state: c1.state, version: c1.fromVersion + c1.events.length };
        }
        const c2 = this.store.planInvoice(b.id, cur, { type: 'FinalizeInvoice', at: b.at, number: invoiceNumber(customer, seq) });
        parts.push(c2);
        changes.push({ id: b.id, state: c2.state, fromVersion: parts[0]!.fromVersion, events: parts.flatMap((p) => p.events) });
      }
      await this.store.appendPlanned(tx, changes);
    });
    return work.length;
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
    return this.reratedLines(inv, rated);
  }

  private reratedLines(inv: Invoice, rated: RatePeriodReply): LineData[] {
    return rated.lines.map((r) => {
      const same = inv.lines.find(
        (l) => l.subscription_item === r.subscription_item && l.period.start === r.period.start && l.type === 'subscription_item_details',
      );
      return lineForRated(r, same?.id ?? newId('invoiceLineItem'), inv.subscription!);
    });
  }

  /** The ledger's answer for this invoice, or null when it has nothing to ask (no metered amount, or already recorded). */
  private async credits(inv: Invoice, at: number): Promise<CreditApplications | null> {
    const req = creditsRequest(inv, at);
    return req ? toApplications(await this.peers.applyCredits(req)) : null;
  }
}

/** Only drafts rating handed over (they carry its idempotency key) are re-rated, until credits are recorded. */
const isRerated = (inv: Invoice): boolean => !!inv.subscription && inv.idempotency_key !== null && !inv.credits_applied;

const ratePeriodRequest = (inv: Invoice): RatePeriodRequest => ({
  subscription: inv.subscription!,
  period_start: inv.period_start,
  period_end: inv.period_end,
  ...ratedReason(inv.billing_reason),
});

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

type CreditApplications = { line: string; amount: string; credit_balance_transaction: string; credit_grant: string }[];

export type { Invoice };
