import { z } from 'zod';
import { defineEvent, type EventOf } from '@meterflow/contracts';

/**
 * The credit ledger's own facts. A grant's stream (`credit_grant-<id>`) holds its lifecycle
 * (created, updated, expired, voided) and every posting against it
 * (`CreditBalanceTransactionRecorded`): balances are derived from postings only.
 * Amounts are minor units; stored as decimal strings (see event-store `toJson`), read back as bigint.
 */
const minor = z.union([z.bigint(), z.string().regex(/^-?\d+$/), z.number().int()]).transform((v) => BigInt(v));
const unix = z.number().int();

export const ScopeSchema = z.object({
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
    scope: ScopeSchema,
    priority: z.number().int(),
    effective_at: unix,
    expires_at: unix.nullable(),
    name: z.string().nullable(),
    metadata: z.record(z.string(), z.string()),
    created: unix,
  }),
);

/** Only `expires_at` and `metadata` can change (Stripe's update endpoint). Full new values. */
export const CreditGrantUpdated = defineEvent(
  'CreditGrantUpdated',
  1,
  z.object({
    expires_at: unix.nullable().optional(),
    metadata: z.record(z.string(), z.string()).optional(),
    updated: unix,
  }),
);

/** Expiry has been processed (at `expires_at`, or by the expire endpoint, which sets it to now). */
export const CreditGrantExpired = defineEvent('CreditGrantExpired', 1, z.object({ expires_at: unix, updated: unix }));

export const CreditGrantVoided = defineEvent('CreditGrantVoided', 1, z.object({ voided_at: unix, updated: unix }));

export const CREDIT_REASONS = ['credits_granted', 'credits_application_invoice_voided'] as const;
export const DEBIT_REASONS = ['credits_applied', 'credits_expired', 'credits_voided'] as const;
export type CreditReason = (typeof CREDIT_REASONS)[number];
export type DebitReason = (typeof DEBIT_REASONS)[number];
export type PostingReason = CreditReason | DebitReason;

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

export type CreditGrantCreated = EventOf<typeof CreditGrantCreated>;
export type CreditGrantUpdated = EventOf<typeof CreditGrantUpdated>;
export type CreditGrantExpired = EventOf<typeof CreditGrantExpired>;
export type CreditGrantVoided = EventOf<typeof CreditGrantVoided>;
export type CreditBalanceTransactionRecorded = EventOf<typeof CreditBalanceTransactionRecorded>;
export type Posting = CreditBalanceTransactionRecorded['data'];

export type CreditGrantEvent =
  | CreditGrantCreated
  | CreditGrantUpdated
  | CreditGrantExpired
  | CreditGrantVoided
  | CreditBalanceTransactionRecorded;

export const GRANT_EVENT_TYPES = [
  CreditGrantCreated.type,
  CreditGrantUpdated.type,
  CreditGrantExpired.type,
  CreditGrantVoided.type,
  CreditBalanceTransactionRecorded.type,
] as const;

/**
 * Per invoice (`credit_application-<invoice>`): the answer `credits.apply` gave, so a repeat
 * returns it, and whether the applications were reinstated after the invoice was voided.
 */
export const InvoiceCreditsApplied = defineEvent(
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

export const streams = {
  grant: (id: string) => `credit_grant-${id}`,
  application: (invoice: string) => `credit_application-${invoice}`,
  funding: (invoice: string) => `credit_funding-${invoice}`,
} as const;
