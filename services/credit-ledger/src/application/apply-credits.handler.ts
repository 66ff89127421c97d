import { Inject, Injectable } from '@nestjs/common';
import { LedgerInvoiceCreditsApplied, type ApplyCreditsReply, type ApplyCreditsRequest } from '@meterflow/contracts';
import type { UnitOfWork } from '@meterflow/event-store';
import { allocateCredits, isApplyCandidate } from '../domain/credit-application.js';
import type { GrantState } from '../domain/credit-grant.decider.js';
import { nextTxnId } from './credit-grant.aggregate.js';
import { APPLICATION_READS, GRANTS, PIPELINE, type ApplicationReads, type GrantAggregate, type Pipeline } from './ports.js';
import { streams } from './streams.js';

/** A request's answer, or the error it alone ran into. */
export type Outcome<T> = { ok: true; result: T } | { ok: false; error: unknown };
/** Tries of one unit: a single request (as before batches), and a whole batch before it falls back to one by one. */
const SINGLE_ATTEMPTS = 5;
const BATCH_ATTEMPTS = 3;

/** `credits.apply` / `credits.apply_many`: invoicing asks, at finalization, which credits pay an invoice. */
@Injectable()
export class ApplyCreditsHandler {
  constructor(
    @Inject(PIPELINE) private readonly pipeline: Pipeline,
    @Inject(GRANTS) private readonly grants: GrantAggregate,
    @Inject(APPLICATION_READS) private readonly reads: ApplicationReads,
  ) {}

  /**
   * Idempotent per invoice: the first answer that applied anything is stored and every repeat
   * returns it. When no grant can pay (most invoices), nothing is written: a repeat may then
   * find a newer grant, which is safe, since nothing was applied the first time.
   * One request is a batch of one (`applyMany`): one implementation.
   */
  async apply(r: ApplyCreditsRequest): Promise<ApplyCreditsReply> {
    const [outcome] = await this.applyMany([r]);
    if (!outcome!.ok) throw outcome!.error;
    return outcome!.result;
  }

  /**
   * `credits.apply` for many invoices: `outcomes[i]` is what `apply(requests[i])` would answer
   * had the requests come one by one, in order. Reads and writes are per batch: answers already
   * stored and candidate grants in one query each (no transaction when nothing can pay), then one
   * unit of work that preloads every candidate grant at once, decides request by request in
   * memory (several invoices of one customer draw on the same states, in order), and commits
   * everything in one append at the versions loaded, projected in bulk. A stale version (another
   * writer touched a grant or answered an invoice) makes the pipeline decide the batch again; if
   * it keeps losing, or fails for another reason, each request runs alone, so a failure belongs
   * to its own request. Never applied twice: nothing of a rolled-back attempt stays, and an
   * invoice already answered returns its stored answer.
   */
  async applyMany(requests: readonly ApplyCreditsRequest[]): Promise<Outcome<ApplyCreditsReply>[]> {
    const items = requests.map((r) => ({ ...r, currency: r.currency.toLowerCase() }));
    if (items.length === 0) return [];
    if (items.length === 1) return this.applyBatch(items, SINGLE_ATTEMPTS);
    try {
      return await this.applyBatch(items, BATCH_ATTEMPTS);
    } catch {
      const out: Outcome<ApplyCreditsReply>[] = [];
      for (const r of items) out.push(...(await this.applyBatch([r], SINGLE_ATTEMPTS)));
      return out;
    }
  }

  /**
   * One attempt at a batch (with `attempts` tries of its unit). Throws when the batch as a whole
   * cannot be written; with one request, that error is the request's outcome.
   */
  private async applyBatch(items: readonly ApplyCreditsRequest[], attempts: number): Promise<Outcome<ApplyCreditsReply>[]> {
    const single = items.length === 1;
    try {
      const out: (Outcome<ApplyCreditsReply> | undefined)[] = new Array(items.length);
      const [stored, candidates] = await Promise.all([this.reads.storedAnswers(items.map((r) => r.invoice)), this.reads.candidates(items)]);
      // An invoice some request may write must go through the unit under every request naming it.
      const writing = new Set(items.filter((r, i) => !stored.has(r.invoice) && candidates[i]!.length > 0).map((r) => r.invoice));
      const rest: number[] = [];
      items.forEach((r, i) => {
        const done = stored.get(r.invoice);
        if (done) out[i] = { ok: true, result: done };
        else if (!writing.has(r.invoice)) out[i] = { ok: true, result: { applications: [] } };
        else rest.push(i);
      });
      if (rest.length > 0) {
        const decided = await this.pipeline.run(
          (uow) =>
            this.applyIn(
              uow,
              rest.map((i) => items[i]!),
            ),
          {},
          { attempts },
        );
        rest.forEach((i, k) => (out[i] = decided[k]));
      }
      return out as Outcome<ApplyCreditsReply>[];
    } catch (error) {
      if (single) return [{ ok: false, error }];
      throw error;
    }
  }

  /** Decide every request in order against the same loaded states; a request that fails leaves no trace. */
  private async applyIn(uow: UnitOfWork, items: readonly ApplyCreditsRequest[]): Promise<Outcome<ApplyCreditsReply>[]> {
    const [stored, candidates] = await Promise.all([
      this.reads.storedAnswers(
        items.map((r) => r.invoice),
        uow,
      ),
      this.reads.candidates(items, uow),
    ]);
    await uow.preload(this.grants, candidates.flat());
    const out: Outcome<ApplyCreditsReply>[] = [];
    for (const [i, r] of items.entries()) {
      const done = stored.get(r.invoice);
      if (done) {
        out.push({ ok: true, result: done });
        continue;
      }
      const undo = uow.checkpoint();
      try {
        const reply = await this.applyOne(uow, r, candidates[i]!);
        if (reply.written) stored.set(r.invoice, reply.result);
        out.push({ ok: true, result: reply.result });
      } catch (error) {
        undo();
        out.push({ ok: false, error });
      }
    }
    return out;
  }

  private async applyOne(
    uow: UnitOfWork,
    r: ApplyCreditsRequest,
    candidates: readonly string[],
  ): Promise<{ result: ApplyCreditsReply; written: boolean }> {
    const states: GrantState[] = [];
    for (const id of candidates) {
      // An earlier request of the batch may have used the grant up or expired it: then it is no longer a candidate.
      if (!isApplyCandidate(await uow.load(this.grants, id), r.at)) continue;
      // Whatever was due by `at` happens first (a grant effective or expiring at finalization time).
      states.push(uow.executeLoaded(this.grants, id, { type: 'Tick', at: r.at, nextTxnId }).state);
    }
    if (states.length === 0) return { result: { applications: [] }, written: false };
    const allocations = allocateCredits(
      states,
      r.lines.map((l) => ({ id: l.id, amount: BigInt(l.amount), price: l.price, metered: l.metered })),
      r.currency,
      r.at,
    );
    const applications: ApplyCreditsReply['applications'] = [];
    for (const a of allocations) {
      const txnId = nextTxnId();
      uow.executeLoaded(this.grants, a.grant, {
        type: 'ApplyCredits',
        invoice: r.invoice,
        line: a.line,
        amount: a.amount,
        at: r.at,
        txnId,
      });
      applications.push({ line: a.line, amount: Number(a.amount), credit_balance_transaction: txnId, credit_grant: a.grant });
    }
    // The per-invoice stream must not exist yet: a concurrent first call makes this one retry and read its answer.
    uow.record(streams.application(r.invoice), 'no_stream', [
      LedgerInvoiceCreditsApplied({ invoice: r.invoice, customer: r.customer, currency: r.currency, at: r.at, applications }),
    ]);
    return { result: { applications }, written: true };
  }
}
