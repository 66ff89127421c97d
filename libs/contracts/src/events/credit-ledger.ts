import { z } from 'zod';
import { defineEvent, eventCatalog, type EventOf } from './core.js';

/**
 * credit-ledger's events. A grant's stream (`credit_grant-<id>`) holds its lifecycle (created,
 * updated, expired, voided) and every posting against it (`CreditBalanceTransactionRecorded`):
 * balances are derived from postings only. Per invoice: the credits `credits.apply` applied
 * (`credit_application-<invoice>`) and the grant a paid invoice funded (`credit_funding-<invoice>`).
 * Amounts are minor units: bigint in code, stored as decimal strings (event-store `toJson`),
 * read back as bigint.
 */
const minor = z.union([z.bigint(), z.string().regex(/^-?\d+$/), z.number().int()]).transform((v) => BigInt(v));
const unix = z.number().int();
const metadata = z.record(z.string(), z.string());

/** Which prices a grant can pay for (Stripe `applicability_config.scope`). */
export const CreditGrantScope = z.object({
  price_type: z.literal('metered').nullable(),
  prices: z.array(z.string()).nullable(),
});

export const CreditGrantCreated = defineEvent(
  'CreditGrantCreated',
  1,
  z.object({
    id: z.string(),
    customer: z.string(),
    test_clock: z.string().nullable(),
    currency: z.string(),
    amount: minor,
    category: z.enum(['paid', 'promotional']),
    scope: CreditGrantScope,
    priority: z.number().int(),
    effective_at: unix,
    expires_at: unix.nullable(),
    name: z.string().nullable(),
    metadata,
    created: unix,
  }),
);

/** Only `expires_at` and `metadata` can change (Stripe's update endpoint). Full new values. */
export const CreditGrantUpdated = defineEvent(
  'CreditGrantUpdated',
  1,
  z.object({
    expires_at: unix.nullable().optional(),
    metadata: metadata.optional(),
    updated: unix,
  }),
);

/** Expiry has been processed (at `expires_at`, or by the expire endpoint, which sets it to now). */
export const CreditGrantExpired = defineEvent('CreditGrantExpired', 1, z.object({ expires_at: unix, updated: unix }));

export const CreditGrantVoided = defineEvent('CreditGrantVoided', 1, z.object({ voided_at: unix, updated: unix }));

/** Stripe's `credit_balance_transaction` reasons (`credit.type` / `debit.type`). */
export const CREDIT_REASONS = ['credits_granted', 'credits_application_invoice_voided'] as const;
export const DEBIT_REASONS = ['credits_applied', 'credits_expired', 'credits_voided'] as const;

/** One posting = one Stripe `credit_balance_transaction`. `idempotency_key` is unique per grant. */
export const CreditBalanceTransactionRecorded = defineEvent(
  'CreditBalanceTransactionRecorded',
  1,
  z.object({
    id: z.string(),
    credit_grant: z.string(),
    customer: z.string(),
    test_clock: z.string().nullable(),
    currency: z.string(),
    type: z.enum(['credit', 'debit']),
    reason: z.enum([...CREDIT_REASONS, ...DEBIT_REASONS]),
    amount: minor,
    effective_at: unix,
    created: unix,
    invoice: z.string().nullable(),
    invoice_line_item: z.string().nullable(),
    idempotency_key: z.string(),
  }),
);

/**
 * Per invoice (`credit_application-<invoice>`): the answer `credits.apply` gave, so a repeat
 * returns it. Its type is `InvoiceCreditsApplied` (invoicing has its own event of that type, with
 * another shape, in its own store): the constant is named apart so both can be exported here.
 */
export const LedgerInvoiceCreditsApplied = defineEvent(
  'InvoiceCreditsApplied',
  1,
  z.object({
    invoice: z.string(),
    customer: z.string(),
    currency: z.string(),
    at: unix,
    applications: z.array(
      z.object({ line: z.string(), amount: z.number().int(), credit_balance_transaction: z.string(), credit_grant: z.string() }),
    ),
  }),
);

/** The applications of a voided invoice went back to their grants (same stream as above). */
export const InvoiceCreditsReinstated = defineEvent(
  'InvoiceCreditsReinstated',
  1,
  z.object({ invoice: z.string(), at: unix, credit_balance_transactions: z.array(z.string()) }),
);

/** Per paid invoice (`credit_funding-<invoice>`): the grant its metadata asked for. */
export const InvoiceFundedCreditGrant = defineEvent(
  'InvoiceFundedCreditGrant',
  1,
  z.object({ invoice: z.string(), credit_grant: z.string() }),
);

export type CreditGrantCreated = EventOf<typeof CreditGrantCreated>;
export type CreditGrantUpdated = EventOf<typeof CreditGrantUpdated>;
export type CreditGrantExpired = EventOf<typeof CreditGrantExpired>;
export type CreditGrantVoided = EventOf<typeof CreditGrantVoided>;
export type CreditBalanceTransactionRecorded = EventOf<typeof CreditBalanceTransactionRecorded>;
export type LedgerInvoiceCreditsApplied = EventOf<typeof LedgerInvoiceCreditsApplied>;
export type InvoiceCreditsReinstated = EventOf<typeof InvoiceCreditsReinstated>;
export type InvoiceFundedCreditGrant = EventOf<typeof InvoiceFundedCreditGrant>;

/** What a grant's stream holds (besides `StripeEventEmitted`). */
export type CreditGrantEvent =
  CreditGrantCreated | CreditGrantUpdated | CreditGrantExpired | CreditGrantVoided | CreditBalanceTransactionRecorded;

/** Everything credit-ledger's event store accepts. */
export const CREDIT_LEDGER_EVENTS = eventCatalog([
  CreditGrantCreated,
  CreditGrantUpdated,
  CreditGrantExpired,
  CreditGrantVoided,
  CreditBalanceTransactionRecorded,
  LedgerInvoiceCreditsApplied,
  InvoiceCreditsReinstated,
  InvoiceFundedCreditGrant,
]);
