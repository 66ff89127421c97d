import type {
  ApplyCreditsReply,
  ApplyCreditsRequest,
  ClockAdvancePartitionReply,
  ClockAdvancePartitionRequest,
  PreviewCreditsReply,
  PreviewCreditsRequest,
  PreviewSubscriptionInvoiceReply,
  PreviewSubscriptionInvoiceRequest,
  RatePeriodReply,
  RatePeriodRequest,
  RpcReply,
} from '@meterflow/contracts';
import type { Change, Transaction } from '@meterflow/event-store';
import type { CustomerDirectory } from '@meterflow/rating-client';
import type { Invoice, InvoiceState } from '../domain/invoice.decider.js';
import type { InvoiceItemState } from '../domain/invoice-item.decider.js';
import type {
  ExplainCreditsReply,
  ExplainCreditsRequest,
  ExplainLinesReply,
  ExplainLinesRequest,
  InvoiceEvent,
  InvoiceItemEvent,
} from '@meterflow/contracts';

/** The transaction of a unit of work (`uow.tx`): side tables are written in it. */
export type Tx = Transaction;

export interface PriceInfo {
  id: string;
  currency: string;
  product: string;
  unit_amount_decimal: string | null;
  meter: string | null;
}

/** What invoicing asks of the other services besides customers and clocks (NATS request/reply). */
export interface Peers {
  price(id: string): Promise<PriceInfo>;
  ratePeriod(req: RatePeriodRequest): Promise<RatePeriodReply>;
  applyCredits(req: ApplyCreditsRequest): Promise<ApplyCreditsReply>;
  /** `billing.rate_periods`: one answer per request, in order (any number; sent in chunks). */
  ratePeriods(reqs: readonly RatePeriodRequest[]): Promise<RpcReply<RatePeriodReply>[]>;
  /** `credits.apply_many`: one answer per request, in order (any number; sent in chunks, in order). */
  applyCreditsMany(reqs: readonly ApplyCreditsRequest[]): Promise<RpcReply<ApplyCreditsReply>[]>;
}
export const PEERS = Symbol('PEERS');

/**
 * A clock's close spread over invoicing's replicas (docs/architecture.md, "Scaling out"): its
 * due drafts split into `partitions` parts by customer, each part asked for through invoicing's
 * own queue group (`clock.advance_partition`, any replica may take it) and finalized under a lock
 * of its own, so two calls never finalize the same part at once.
 */
export interface ClosePartitions {
  /** Parts per clock close (`INVOICE_CLOSE_PARTITIONS`); 1: the replica rating asked does it all, itself. */
  readonly partitions: number;
  advancePartition(req: ClockAdvancePartitionRequest): Promise<ClockAdvancePartitionReply>;
  /** Runs `fn` while no other call holds `key` (any replica); `ran: false` when one does. */
  exclusive<T>(key: string, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }>;
}
export const CLOSE_PARTITIONS = Symbol('CLOSE_PARTITIONS');

/** Customers and their clocks' "now": the one client in `@meterflow/rating-client`. */
export type Customers = Pick<CustomerDirectory, 'customer' | 'nowFor'>;
export const CUSTOMERS = Symbol('CUSTOMERS');

/** The read models, written in the unit's transaction with every change (all changes of a type at once). */
export interface InvoiceProjections {
  invoices(tx: Tx, changes: readonly Change<InvoiceState, InvoiceEvent>[]): Promise<void>;
  items(tx: Tx, changes: readonly Change<InvoiceItemState, InvoiceItemEvent>[]): Promise<void>;
}
export const INVOICE_PROJECTIONS = Symbol('INVOICE_PROJECTIONS');

/** A customer's reserved invoice numbers: its prefix and the first sequence. */
export interface NumberRange {
  prefix: string;
  first: number;
}

/** The write path's reads of the read models, and the invoice-number side table. */
export interface InvoiceRecords {
  /**
   * Pending items (on no invoice) that could go on an invoice of one of these (customer,
   * subscription) pairs: the customer's items of that subscription or of none. Locked in `tx`,
   * oldest first.
   */
  pendingItemIds(tx: Tx, pairs: readonly { customer: string; subscription: string | null }[]): Promise<string[]>;
  /**
   * The invoices already made for these `subscription_invoices.create` idempotency keys (key ->
   * invoice id), as `tx` sees them. An invoice records its key, unique among invoices: a key
   * makes one invoice without an event of its own (`keyTakenMeanwhile` settles a race).
   */
  invoicesByKey(tx: Tx, keys: readonly string[]): Promise<Map<string, string>>;
  /**
   * Reserve `n` consecutive invoice numbers per customer in `tx` (the counter rows stay locked
   * until commit, in customer order); returns each customer's prefix (unique among customers,
   * given at its first number: `invoicePrefixCandidates`) and first sequence.
   */
  reserveNumbers(tx: Tx, counts: ReadonlyMap<string, number>): Promise<Map<string, NumberRange>>;
}
export const INVOICE_RECORDS = Symbol('INVOICE_RECORDS');

/** Drafts whose automatic finalization has come (the `invoices` read model). */
export interface DueDrafts {
  /** Earliest `automatically_finalizes_at` at or before `upTo` of the auto-advancing drafts on this clock. */
  earliest(clock: string, upTo: number): Promise<number | null>;
  /**
   * Auto-advancing drafts due at or before `upTo` on this clock (null: no clock), by due time then
   * id; with `part`, only customers of that part (a hash of the customer id modulo `partitions`).
   */
  due(clock: string | null, upTo: number, limit: number, part?: ClosePart): Promise<{ id: string; due: number }[]>;
}
export const DUE_DRAFTS = Symbol('DUE_DRAFTS');
/** One part of a clock's close: the customers whose hash modulo `partitions` is `partition`. */
export type ClosePart = Pick<ClockAdvancePartitionRequest, 'partition' | 'partitions'>;

export interface InvoicingSettings {
  /** Grace between a draft's creation and its automatic finalization (seconds). */
  graceSeconds: number;
}
export const INVOICING_SETTINGS = Symbol('INVOICING_SETTINGS');

export type { Invoice };

/** What explaining an invoice asks of rating and the ledger (issue 8 item 10). */
export interface ExplanationPeers {
  explainLines(req: ExplainLinesRequest): Promise<ExplainLinesReply>;
  explainCredits(req: ExplainCreditsRequest): Promise<ExplainCreditsReply>;
}
export const EXPLANATION_PEERS = Symbol('EXPLANATION_PEERS');

/**
 * Invoice preview (issue 8 item 8): what rating would bill and which credits the ledger would
 * apply, both answered without writing anything.
 */
export interface PreviewPeers {
  previewSubscriptionInvoice(req: PreviewSubscriptionInvoiceRequest): Promise<PreviewSubscriptionInvoiceReply>;
  previewCredits(req: PreviewCreditsRequest): Promise<PreviewCreditsReply>;
}
export const PREVIEW_PEERS = Symbol('PREVIEW_PEERS');

/** Pending invoice items a preview would include (unlocked read of the `invoice_items` read model). */
export interface PendingItemReads {
  /** The customer's pending items of this subscription or of none, oldest first. */
  pendingItemIds(customer: string, subscription: string | null): Promise<string[]>;
}
export const PENDING_ITEM_READS = Symbol('PENDING_ITEM_READS');
