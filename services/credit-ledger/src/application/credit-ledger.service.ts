import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import {
  InvoiceCreditsReinstated,
  InvoiceFundedCreditGrant,
  LedgerInvoiceCreditsApplied,
  type ApiRequest,
  type ApplyCreditsReply,
  type ApplyCreditsRequest,
  type ClockNextDueReply,
  type Stripe,
} from '@meterflow/contracts';
import { quoteIdent, type PgEventStore } from '@meterflow/event-store';
import { DomainError, newId, notFound } from '@meterflow/kernel';
import { listSql, parseListParams, rejectUnknown, str, LIST_PARAM_KEYS, type StripeList } from '@meterflow/stripe-api';
import { EVENT_STORE, PG_POOL } from '@meterflow/service-kit';
import { allocateCredits, isApplyCandidate } from '../domain/credit-application.js';
import { summarizeBalances } from '../domain/credit-balance.js';
import { fundingFromInvoice, type PaidInvoice } from '../domain/credit-funding.js';
import type { NewGrant } from '../domain/credit-grant.decider.js';
import { CustomerDirectory } from '../adapters/rating/customer-directory.js';
import { inUnitOfWork, LedgerUnitOfWork } from './ledger-unit-of-work.js';
import { streams } from './streams.js';
import { parseCreateGrant, parseNoParams, parseSummary, parseUpdateGrant } from './credit-grant.params.js';
import { renderGrantRow, renderGrantState, renderTransaction, type GrantRow, type TransactionRow } from './credit-ledger.presenters.js';

/** A request's answer, or the error it alone ran into. */
export type Outcome<T> = { ok: true; result: T } | { ok: false; error: unknown };
type Db = Pick<pg.Pool, 'query'>;
/** Tries of one transaction: a single request (as before batches), and a whole batch before it falls back to one by one. */
const SINGLE_ATTEMPTS = 5;
const BATCH_ATTEMPTS = 3;

const nextTxnId = () => newId('creditBalanceTransaction');
const grantMissing = (id: string) => notFound('billing.credit_grant', id);
const txnMissing = (id: string) => notFound('billing.credit_balance_transaction', id);

/** Grants with work still due (not yet effective, or not yet expired), as SQL over the read model. */
const DUE_SQL = `voided_at IS NULL AND expired_at IS NULL AND (
  (NOT granted AND (expires_at IS NULL OR effective_at < expires_at) AND effective_at <= $2)
  OR (expires_at IS NOT NULL AND expires_at <= $2))`;

@Injectable()
export class CreditLedgerService {
  constructor(
    @Inject(EVENT_STORE) private readonly store: PgEventStore,
    @Inject(PG_POOL) private readonly pool: pg.Pool,
    private readonly customers: CustomerDirectory,
  ) {}

  // ---- credit grants -----------------------------------------------------------------------

  async createGrant(req: ApiRequest): Promise<Stripe.Billing.CreditGrant> {
    const p = parseCreateGrant(req.params);
    const customer = await this.customers.customer(p.customer);
    const now = await this.customers.nowFor(customer);
    const id = newId('creditGrant');
    return inUnitOfWork(
      this.store,
      async (uow) => {
        const state = await this.createGrantIn(uow, id, customer, { ...p, effectiveAt: p.effectiveAt ?? now }, now);
        return renderGrantState(state);
      },
      { requestId: req.requestId, idempotencyKey: req.idempotencyKey ?? null },
    );
  }

  async retrieveGrant(req: ApiRequest): Promise<Stripe.Billing.CreditGrant> {
    rejectUnknown(req.params, []);
    const id = req.path.id ?? '';
    const { rows } = await this.pool.query<GrantRow>('SELECT * FROM credit_grants WHERE id = $1', [id]);
    if (!rows[0]) throw grantMissing(id);
    return renderGrantRow(rows[0]);
  }

  async listGrants(req: ApiRequest): Promise<StripeList<Stripe.Billing.CreditGrant>> {
    rejectUnknown(req.params, ['customer', 'customer_account', ...LIST_PARAM_KEYS]);
    const customer = str(req.params, 'customer') ?? undefined;
    const lp = parseListParams(req.params);
    const args: unknown[] = [];
    const where: string[] = [];
    if (customer) where.push(`customer = $${args.push(customer)}`);
    const page = listSql(lp, { firstArg: args.length + 1 });
    if (page.where) where.push(page.where);
    const { rows } = await this.pool.query<GrantRow>(
      `SELECT * FROM credit_grants ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
      [...args, ...page.args],
    );
    return page.finish(rows.map(renderGrantRow), '/v1/billing/credit_grants');
  }

  /** Update, expire and void share a shape: catch up on what is due by now, then the command. */
  private async changeGrant(
    req: ApiRequest,
    command: (now: number) => Parameters<LedgerUnitOfWork['run']>[1],
  ): Promise<Stripe.Billing.CreditGrant> {
    const id = req.path.id ?? '';
    const { rows } = await this.pool.query<{ customer: string; test_clock: string | null }>(
      'SELECT customer, test_clock FROM credit_grants WHERE id = $1',
      [id],
    );
    if (!rows[0]) throw grantMissing(id);
    const now = await this.customers.nowFor({ id: rows[0].customer, test_clock: rows[0].test_clock });
    return inUnitOfWork(
      this.store,
      async (uow) => {
        await uow.run(id, { type: 'Tick', at: now, nextTxnId }, now);
        const { state } = await uow.run(id, command(now), now);
        return renderGrantState(state);
      },
      { requestId: req.requestId, idempotencyKey: req.idempotencyKey ?? null },
    );
  }

  updateGrant(req: ApiRequest) {
    const p = parseUpdateGrant(req.params);
    return this.changeGrant(req, (now) => ({
      type: 'UpdateGrant',
      now,
      ...(p.expiresAt !== undefined ? { expiresAt: p.expiresAt } : {}),
      ...(p.metadata !== undefined ? { metadata: p.metadata } : {}),
    }));
  }

  expireGrant(req: ApiRequest) {
    parseNoParams(req.params);
    return this.changeGrant(req, (at) => ({ type: 'ExpireGrant', at, nextTxnId }));
  }

  voidGrant(req: ApiRequest) {
    parseNoParams(req.params);
    return this.changeGrant(req, (at) => ({ type: 'VoidGrant', at, nextTxnId }));
  }

  // ---- balances and transactions -----------------------------------------------------------

  async balanceSummary(req: ApiRequest): Promise<Stripe.Billing.CreditBalanceSummary> {
    const { customer: customerId, filter } = parseSummary(req.params);
    const customer = await this.customers.customer(customerId);
    const now = await this.customers.nowFor(customer);
    const { rows } = await this.pool.query<GrantRow>('SELECT * FROM credit_grants WHERE customer = $1', [customer.id]);
    const balances = summarizeBalances(
      rows.map((r) => ({
        id: r.id,
        currency: r.currency,
        scope: { price_type: r.price_type as 'metered' | null, prices: r.prices },
        ledgerBalance: BigInt(r.ledger_balance),
        expiresAt: r.expires_at === null ? null : Number(r.expires_at),
        expired: r.expired_at !== null,
      })),
      filter,
      now,
    );
    const money = (currency: string, value: bigint) => ({ type: 'monetary' as const, monetary: { currency, value: Number(value) } });
    return {
      object: 'billing.credit_balance_summary',
      balances: balances.map((b) => ({ available_balance: money(b.currency, b.available), ledger_balance: money(b.currency, b.ledger) })),
      customer: customer.id,
      customer_account: null,
      livemode: false,
    };
  }

  async listTransactions(req: ApiRequest): Promise<StripeList<Stripe.Billing.CreditBalanceTransaction>> {
    rejectUnknown(req.params, ['customer', 'customer_account', 'credit_grant', ...LIST_PARAM_KEYS]);
    if (req.params.customer_account !== undefined) {
      throw new DomainError('parameter_unsupported', "'customer_account' is not supported by Meterflow; pass 'customer'.", {
        param: 'customer_account',
      });
    }
    const customer = str(req.params, 'customer', { required: true });
    const grant = str(req.params, 'credit_grant') ?? undefined;
    const lp = parseListParams(req.params);
    const args: unknown[] = [customer];
    const where = ['customer = $1'];
    if (grant) where.push(`credit_grant = $${args.push(grant)}`);
    const page = listSql(lp, { firstArg: args.length + 1 });
    if (page.where) where.push(page.where);
    const { rows } = await this.pool.query<TransactionRow>(
      `SELECT * FROM credit_balance_transactions WHERE ${where.join(' AND ')} ORDER BY ${page.orderBy} LIMIT ${page.limit}`,
      [...args, ...page.args],
    );
    return page.finish(rows.map(renderTransaction), '/v1/billing/credit_balance_transactions');
  }

  async retrieveTransaction(req: ApiRequest): Promise<Stripe.Billing.CreditBalanceTransaction> {
    rejectUnknown(req.params, []);
    const id = req.path.id ?? '';
    const { rows } = await this.pool.query<TransactionRow>('SELECT * FROM credit_balance_transactions WHERE id = $1', [id]);
    if (!rows[0]) throw txnMissing(id);
    return renderTransaction(rows[0]);
  }

  // ---- invoicing: apply, reinstate, fund ---------------------------------------------------

  /**
   * Idempotent per invoice: the first answer that applied anything is stored and every repeat
   * returns it. When no grant can pay (most invoices), nothing is written: a repeat may then
   * find a newer grant, which is safe, since nothing was applied the first time.
   * One request is a batch of one (`applyCreditsMany`): one implementation.
   */
  async applyCredits(r: ApplyCreditsRequest): Promise<ApplyCreditsReply> {
    const [outcome] = await this.applyCreditsMany([r]);
    if (!outcome!.ok) throw outcome!.error;
    return outcome!.result;
  }

  /**
   * `credits.apply` for many invoices: `outcomes[i]` is what `applyCredits(requests[i])` would
   * answer had the requests come one by one, in order. Reads and writes are per batch: answers
   * already stored and candidate grants in one query each (no transaction when nothing can pay),
   * then one transaction that loads every candidate grant at once, decides request by request in
   * memory (several invoices of one customer draw on the same states, in order), and appends
   * everything in one `appendMany` at the versions loaded, projected in bulk. A stale version
   * (another writer touched a grant or answered an invoice) rolls it all back and the batch is
   * decided again; if it keeps losing, or fails for another reason, each request runs alone, so
   * a failure belongs to its own request. Never applied twice: nothing of a rolled-back attempt
   * stays, and an invoice already answered returns its stored answer.
   */
  async applyCreditsMany(requests: readonly ApplyCreditsRequest[]): Promise<Outcome<ApplyCreditsReply>[]> {
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
   * One attempt at a batch (with `attempts` tries of its transaction). Throws when the batch as a
   * whole cannot be written; with one request, that error is the request's outcome.
   */
  private async applyBatch(items: readonly ApplyCreditsRequest[], attempts: number): Promise<Outcome<ApplyCreditsReply>[]> {
    const single = items.length === 1;
    try {
      const out: (Outcome<ApplyCreditsReply> | undefined)[] = new Array(items.length);
      const [stored, candidates] = await Promise.all([
        this.storedApplications(
          this.pool,
          items.map((r) => r.invoice),
        ),
        this.candidateGrants(this.pool, items),
      ]);
      // An invoice some request may write must go through the transaction under every request naming it.
      const writing = new Set(items.filter((r, i) => !stored.has(r.invoice) && candidates[i]!.length > 0).map((r) => r.invoice));
      const rest: number[] = [];
      items.forEach((r, i) => {
        const done = stored.get(r.invoice);
        if (done) out[i] = { ok: true, result: done };
        else if (!writing.has(r.invoice)) out[i] = { ok: true, result: { applications: [] } };
        else rest.push(i);
      });
      if (rest.length > 0) {
        const decided = await inUnitOfWork(
          this.store,
          (uow) =>
            this.applyIn(
              uow,
              rest.map((i) => items[i]!),
            ),
          {},
          attempts,
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
  private async applyIn(uow: LedgerUnitOfWork, items: readonly ApplyCreditsRequest[]): Promise<Outcome<ApplyCreditsReply>[]> {
    const [stored, candidates] = await Promise.all([
      this.storedApplications(
        uow.tx,
        items.map((r) => r.invoice),
      ),
      this.candidateGrants(uow.tx, items),
    ]);
    await uow.preload(candidates.flat());
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
    uow: LedgerUnitOfWork,
    r: ApplyCreditsRequest,
    candidates: readonly string[],
  ): Promise<{ result: ApplyCreditsReply; written: boolean }> {
    const states = [];
    for (const id of candidates) {
      // An earlier request of the batch may have used the grant up or expired it: then it is no longer a candidate.
      if (!isApplyCandidate(await uow.grant(id), r.at)) continue;
      // Whatever was due by `at` happens first (a grant effective or expiring at finalization time).
      states.push((await uow.run(id, { type: 'Tick', at: r.at, nextTxnId }, r.at)).state);
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
      await uow.run(a.grant, { type: 'ApplyCredits', invoice: r.invoice, line: a.line, amount: a.amount, at: r.at, txnId }, r.at);
      applications.push({ line: a.line, amount: Number(a.amount), credit_balance_transaction: txnId, credit_grant: a.grant });
    }
    // The per-invoice stream must not exist yet: a concurrent first call makes this one retry and read its answer.
    uow.add(streams.application(r.invoice), 'no_stream', [
      LedgerInvoiceCreditsApplied({ invoice: r.invoice, customer: r.customer, currency: r.currency, at: r.at, applications }),
    ]);
    return { result: { applications }, written: true };
  }

  /** The stored answers of these invoices (one query). */
  private async storedApplications(db: Db, invoices: readonly string[]): Promise<Map<string, ApplyCreditsReply>> {
    const ids = [...new Set(invoices)];
    const { rows } = await db.query<{ invoice: string; applications: ApplyCreditsReply['applications'] }>(
      `SELECT DISTINCT ON (stream_id) substr(stream_id, $3) AS invoice, data->'applications' AS applications
         FROM ${quoteIdent(this.store.schema)}.events
        WHERE stream_id = ANY($1::text[]) AND type = $2 ORDER BY stream_id, stream_position`,
      [ids.map(streams.application), LedgerInvoiceCreditsApplied.type, streams.application('').length + 1],
    );
    return new Map(rows.map((r) => [r.invoice, { applications: r.applications }]));
  }

  /**
   * Per request, the grants that could pay at its `at` once brought up to date: live, effective by
   * then, funded with a balance left or about to be funded (one query; ids in order).
   */
  private async candidateGrants(db: Db, items: readonly ApplyCreditsRequest[]): Promise<string[][]> {
    const { rows } = await db.query<{ i: number; id: string }>(
      // One index lookup by customer per request (LATERAL, fenced with OFFSET 0): with a plain join
      // and stale statistics Postgres nested-looped every request over every grant (229 ms per
      // batch of 250 at 20,000 grants, the top statement of a 40,000-subscription period close).
      `SELECT r.i::int AS i, g.id
         FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS r(customer, currency, at, i)
        CROSS JOIN LATERAL (
          SELECT g.id FROM credit_grants g
           WHERE g.customer = r.customer AND g.currency = r.currency AND g.voided_at IS NULL AND g.expired_at IS NULL
             AND g.effective_at <= r.at AND (NOT g.granted OR g.ledger_balance > 0)
          OFFSET 0
        ) g
        ORDER BY r.i, g.id`,
      [items.map((r) => r.customer), items.map((r) => r.currency.toLowerCase()), items.map((r) => r.at)],
    );
    const out = items.map((): string[] => []);
    for (const row of rows) out[row.i - 1]!.push(row.id);
    return out;
  }

  /** `invoice.voided`: every applied amount goes back to its grant (in the caller's transaction). */
  async reinstateInvoice(uow: LedgerUnitOfWork, invoice: string, at: number): Promise<number> {
    const history = await this.store.readStream(streams.application(invoice), { tx: uow.tx });
    const applied = history.find((e) => e.type === LedgerInvoiceCreditsApplied.type);
    if (!applied || history.some((e) => e.type === InvoiceCreditsReinstated.type)) return 0;
    const apps = (applied.data as { applications: ApplyCreditsReply['applications'] }).applications;
    const txns: string[] = [];
    for (const a of apps) {
      await uow.run(a.credit_grant, { type: 'Tick', at, nextTxnId }, at);
      const { events } = await uow.run(a.credit_grant, { type: 'ReinstateApplication', invoice, line: a.line, at, nextTxnId }, at);
      for (const e of events) if (e.type === 'CreditBalanceTransactionRecorded') txns.push(e.data.id);
    }
    uow.add(streams.application(invoice), history.at(-1)!.streamPosition, [
      InvoiceCreditsReinstated({ invoice, at, credit_balance_transactions: txns }),
    ]);
    return apps.length;
  }

  /** `invoice.paid` with funding metadata: create the grant it asks for, once per invoice. */
  async fundFromInvoice(uow: LedgerUnitOfWork, inv: PaidInvoice, testClock: string | null | undefined): Promise<string | null> {
    const decision = fundingFromInvoice(inv);
    if (decision.kind === 'none') return null;
    if (decision.kind === 'invalid') throw new DomainError('credit_funding_invalid', `Invoice ${inv.id}: ${decision.reason}`);
    const history = await this.store.readStream(streams.funding(inv.id), { tx: uow.tx });
    if (history.length > 0) return (history[0]!.data as { credit_grant: string }).credit_grant;
    const customer = testClock === undefined ? await this.customers.customer(inv.customer) : { id: inv.customer, test_clock: testClock };
    const req = decision.request;
    const id = newId('creditGrant');
    const now = inv.paid_at;
    await this.createGrantIn(uow, id, customer, req, now);
    uow.add(streams.funding(inv.id), 'no_stream', [InvoiceFundedCreditGrant({ invoice: inv.id, credit_grant: id })]);
    return id;
  }

  /** The one way a grant is made, whether asked for by the API or by a paid invoice. */
  private async createGrantIn(
    uow: LedgerUnitOfWork,
    id: string,
    customer: { id: string; test_clock: string | null },
    terms: Omit<NewGrant, 'id' | 'customer' | 'testClock'>,
    now: number,
  ) {
    const grant: NewGrant = {
      id,
      customer: customer.id,
      testClock: customer.test_clock,
      currency: terms.currency,
      amount: terms.amount,
      category: terms.category,
      scope: terms.scope,
      priority: terms.priority,
      effectiveAt: terms.effectiveAt,
      expiresAt: terms.expiresAt,
      name: terms.name,
      metadata: terms.metadata,
    };
    const { state } = await uow.run(id, { type: 'CreateGrant', now, nextTxnId, grant }, now);
    return state;
  }

  // ---- time: test clocks and the real-time scheduler ---------------------------------------

  async nextDue(clock: string, after: number, upTo: number): Promise<ClockNextDueReply> {
    const { rows } = await this.pool.query<{ at: string | null }>(
      `SELECT min(t) AS at FROM (
         SELECT effective_at AS t FROM credit_grants
          WHERE test_clock = $1 AND NOT granted AND voided_at IS NULL AND expired_at IS NULL
            AND (expires_at IS NULL OR effective_at < expires_at)
         UNION ALL
         SELECT expires_at FROM credit_grants
          WHERE test_clock = $1 AND expires_at IS NOT NULL AND voided_at IS NULL AND expired_at IS NULL
       ) x WHERE t > $2 AND t <= $3`,
      [clock, after, upTo],
    );
    return { at: rows[0]?.at == null ? null : Number(rows[0].at) };
  }

  /**
   * Do every grant's work due by `to` (`clock` = one test clock; null = customers without one).
   * After `budgetMs` it stops between grants (`done: false`): the rest stays due for the next call.
   */
  async runDue(clock: string | null, to: number, budgetMs = Infinity): Promise<{ processed: number; done: boolean }> {
    const deadline = Date.now() + budgetMs;
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM credit_grants WHERE ${clock === null ? 'test_clock IS NULL AND $1::text IS NULL' : 'test_clock = $1'} AND ${DUE_SQL}
        ORDER BY LEAST(CASE WHEN granted THEN NULL ELSE effective_at END, expires_at), id`,
      [clock, to],
    );
    let processed = 0;
    for (const { id } of rows) {
      // Past the budget (a clock step): stop between grants; the rest is still due next time.
      if (Date.now() >= deadline) return { processed, done: false };
      await inUnitOfWork(this.store, async (uow) => {
        await uow.run(id, { type: 'Tick', at: to, nextTxnId }, to);
      });
      processed++;
    }
    return { processed, done: true };
  }
}
