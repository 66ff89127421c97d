import type { ApplyCreditsReply, ApplyCreditsRequest, ClockNextDueReply, Stripe } from '@meterflow/contracts';
import type { AggregateType, CommandPipeline, UnitOfWork } from '@meterflow/event-store';
import type { CustomerDirectory } from '@meterflow/rating-client';
import type { ListParams, StripeList } from '@meterflow/stripe-api';
import type { GrantBalance } from '../domain/credit-balance.js';
import type { GrantCommand, GrantEvent, GrantState } from '../domain/credit-grant.decider.js';

/**
 * What the credit ledger's use cases need from the outside world. Adapters implement these
 * (SQL over the read models in adapters/persistence, the projection in adapters/projections);
 * credit-ledger.module.ts wires them. Reads that must see a unit of work's transaction take it.
 */

/** The command pipeline every write goes through (`@meterflow/event-store`). */
export const PIPELINE = Symbol('credit-ledger.PIPELINE');
export type Pipeline = CommandPipeline;

/** Customers and clocks, asked of rating (`@meterflow/rating-client`). */
export const CUSTOMERS = Symbol('credit-ledger.CUSTOMERS');
export type Customers = Pick<CustomerDirectory, 'customer' | 'nowFor' | 'remember' | 'systemNow'>;

/** The grant aggregate as the pipeline runs it (decider, Stripe announcements, projection). */
export const GRANTS = Symbol('credit-ledger.GRANTS');
export type GrantAggregate = AggregateType<GrantState, GrantCommand, GrantEvent>;

/** Writes the ledger's read models (grants, transactions) for the grants a unit changed, in its transaction. */
export const LEDGER_PROJECTION = Symbol('credit-ledger.LEDGER_PROJECTION');
export interface LedgerProjection {
  project: NonNullable<GrantAggregate['project']>;
}

/** The `credit_grants` read model. */
export const GRANT_READS = Symbol('credit-ledger.GRANT_READS');
export interface GrantReads {
  retrieve(id: string): Promise<Stripe.Billing.CreditGrant | null>;
  list(filter: { customer?: string }, page: ListParams): Promise<StripeList<Stripe.Billing.CreditGrant>>;
  /** Who owns the grant (for its clock), or null when there is no such grant. */
  owner(id: string): Promise<{ customer: string; test_clock: string | null } | null>;
  /** Every grant of the customer, as the balance summary weighs them. */
  balancesOf(customer: string): Promise<GrantBalance[]>;
}

/** The `credit_balance_transactions` read model. */
export const TRANSACTION_READS = Symbol('credit-ledger.TRANSACTION_READS');
export interface TransactionReads {
  retrieve(id: string): Promise<Stripe.Billing.CreditBalanceTransaction | null>;
  list(filter: { customer: string; creditGrant?: string }, page: ListParams): Promise<StripeList<Stripe.Billing.CreditBalanceTransaction>>;
}

/** What `credits.apply` reads before deciding: per-invoice answers and candidate grants, one query each. */
export const APPLICATION_READS = Symbol('credit-ledger.APPLICATION_READS');
export interface ApplicationReads {
  /** The stored answers of these invoices (their `LedgerInvoiceCreditsApplied`). */
  storedAnswers(invoices: readonly string[], within?: UnitOfWork): Promise<Map<string, ApplyCreditsReply>>;
  /**
   * Per request, the grants that could pay at its `at` once brought up to date: live, effective
   * by then, funded with a balance left or about to be funded (ids in order).
   */
  candidates(requests: readonly ApplyCreditsRequest[], within?: UnitOfWork): Promise<string[][]>;
}

/** When grants have work due (become effective, expire): the schedule over the read model. */
export const SCHEDULE_READS = Symbol('credit-ledger.SCHEDULE_READS');
export interface ScheduleReads {
  /** The earliest instant in (after, upTo] at which a grant on this test clock has work due. */
  nextDue(clock: string, after: number, upTo: number): Promise<ClockNextDueReply>;
  /** Grants with work due by `to` (`clock` null = customers without a test clock), in due order. */
  dueBy(clock: string | null, to: number): Promise<string[]>;
}
