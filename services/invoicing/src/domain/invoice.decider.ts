// The invoice aggregate: state, totals, commands, and one exhaustive decide and evolve. Over
// ~300 lines by choice: the lifecycle's 13 commands and their events read best side by side.
import { DomainError, assertNever } from '@meterflow/kernel';
import {
  InvoiceCreated,
  InvoiceCreditsApplied,
  InvoiceDeleted,
  InvoiceFinalized,
  InvoiceLineAdded,
  InvoiceLineChanged,
  InvoiceLineRemoved,
  InvoiceLinesRefreshed,
  InvoiceMarkedUncollectible,
  InvoicePaid,
  InvoiceSent,
  InvoiceUpdated,
  InvoiceVoided,
  type BillingReason,
  type CollectionMethod,
  type CreditApplicationData,
  type InvoiceEvent,
  type LineData,
} from '@meterflow/contracts';

export type InvoiceStatus = 'draft' | 'open' | 'paid' | 'uncollectible' | 'void';

export interface CreditApplication {
  amount: bigint;
  credit_balance_transaction: string;
  credit_grant: string;
}

export interface Line extends Omit<LineData, 'amount'> {
  amount: bigint;
  credits: CreditApplication[];
}

export interface Invoice {
  id: string;
  customer: string;
  currency: string;
  created: number;
  status: InvoiceStatus;
  deleted: boolean;
  billing_reason: BillingReason;
  collection_method: CollectionMethod;
  auto_advance: boolean;
  automatically_finalizes_at: number | null;
  description: string | null;
  metadata: Record<string, string>;
  test_clock: string | null;
  subscription: string | null;
  period_start: number;
  period_end: number;
  days_until_due: number | null;
  due_date: number | null;
  footer: string | null;
  idempotency_key: string | null;
  number: string | null;
  lines: Line[];
  credits_applied: boolean;
  amount_paid: bigint;
  paid_out_of_band: boolean;
  status_transitions: {
    finalized_at: number | null;
    marked_uncollectible_at: number | null;
    paid_at: number | null;
    voided_at: number | null;
  };
  /** Last change time (for `webhooks_delivered_at`-like bookkeeping and ordering). */
  updated: number;
}

export type InvoiceState = Invoice | null;
export const initialInvoiceState = (): InvoiceState => null;

// ---- totals --------------------------------------------------------------------------------

export interface InvoiceTotals {
  subtotal: bigint;
  credits: bigint;
  total: bigint;
  amount_due: bigint;
  amount_paid: bigint;
  amount_remaining: bigint;
}

/**
 * Lines are already rounded (once, at creation); the subtotal is their sum (no discounts or tax
 * in Meterflow). Billing credits are pre-tax credits, like discounts (stripe-api.md §5 "How
 * credits appear on the invoice"; issue 8 item 3): `total` = subtotal − `total_pretax_credit_amounts`,
 * and `amount_due` follows from `total` (never below zero). See docs/invoicing.md.
 */
export function totals(inv: Invoice): InvoiceTotals {
  const subtotal = inv.lines.reduce((s, l) => s + l.amount, 0n);
  const credits = inv.lines.reduce((s, l) => s + l.credits.reduce((c, a) => c + a.amount, 0n), 0n);
  const total = subtotal - credits;
  const amount_due = total > 0n ? total : 0n;
  const remaining = amount_due - inv.amount_paid;
  return {
    subtotal,
    credits,
    total,
    amount_due,
    amount_paid: inv.amount_paid,
    amount_remaining: inv.status === 'void' || remaining < 0n ? 0n : remaining,
  };
}

// ---- commands ------------------------------------------------------------------------------

export type InvoiceCommand =
  | { type: 'CreateInvoice'; data: InvoiceCreatedInput }
  | { type: 'UpdateInvoice'; at: number; changes: InvoiceChanges }
  | { type: 'AddLine'; at: number; line: LineData }
  | { type: 'ChangeLine'; at: number; line: LineData }
  | { type: 'RemoveLine'; at: number; line: string }
  | { type: 'RefreshSubscriptionLines'; at: number; lines: LineData[] }
  | { type: 'RecordCreditApplications'; at: number; applications: CreditApplicationData[] }
  | { type: 'FinalizeInvoice'; at: number; number: string; auto_advance?: boolean }
  | { type: 'PayInvoice'; at: number; paid_out_of_band: boolean }
  | { type: 'VoidInvoice'; at: number }
  | { type: 'MarkUncollectible'; at: number }
  | { type: 'SendInvoice'; at: number }
  | { type: 'DeleteInvoice'; at: number };

export type InvoiceCreatedInput = Parameters<typeof InvoiceCreated>[0];
export type InvoiceChanges = Omit<Parameters<typeof InvoiceUpdated>[0], 'at'>;

const notEditable = (inv: Invoice, what = 'edited'): DomainError =>
  new DomainError(
    'invoice_not_editable',
    `This invoice can no longer be ${what} because it is ${inv.deleted ? 'deleted' : `in status \`${inv.status}\``}.`,
  );

const transitionInvalid = (inv: Invoice, action: string): DomainError =>
  new DomainError(
    'status_transition_invalid',
    `You can only ${action} an invoice that is ${allowedFor(action)}. This invoice is \`${inv.status}\`.`,
  );

const allowedFor = (action: string): string =>
  action === 'finalize' ? '`draft`' : action === 'mark uncollectible' || action === 'send' ? '`open`' : '`open` or `uncollectible`';

function existing(state: InvoiceState, id?: string): Invoice {
  if (!state || state.deleted)
    throw new DomainError('resource_missing', `No such invoice: '${id ?? state?.id ?? ''}'`, { param: 'invoice', status: 404 });
  return state;
}

function draft(state: InvoiceState): Invoice {
  const inv = existing(state);
  if (inv.status !== 'draft') throw notEditable(inv);
  return inv;
}

/**
 * A draft whose lines may still change: not once the ledger's credits are recorded. Credits are
 * applied at finalization to the lines as they were then, each debit naming its line (stripe-api.md
 * §5): changing or removing a credited line would leave credit beyond its amount, or ledger debits
 * no invoice carries (found by invoice.properties.unit.spec.ts). Re-rating keeps them too.
 */
function linesEditable(state: InvoiceState): Invoice {
  const inv = draft(state);
  if (inv.credits_applied)
    throw new DomainError('invoice_not_editable', 'The lines of this invoice can no longer be changed: credits have been applied to them.');
  return inv;
}

export function decideInvoice(command: InvoiceCommand, state: InvoiceState): InvoiceEvent[] {
  switch (command.type) {
    case 'CreateInvoice': {
      if (state) throw new DomainError('resource_already_exists', `Invoice ${command.data.id} already exists.`);
      return [InvoiceCreated(command.data)];
    }
    case 'UpdateInvoice': {
      const inv = existing(state);
      const c = command.changes;
      // After finalization only metadata, description, footer and auto_advance remain editable.
      if (inv.status !== 'draft') {
        const frozen = (['collection_method', 'days_until_due', 'due_date', 'automatically_finalizes_at'] as const).filter(
          (k) => c[k] !== undefined,
        );
        if (frozen.length > 0 || inv.status === 'void' || (inv.status === 'paid' && c.auto_advance !== undefined))
          throw new DomainError(
            'invoice_not_editable',
            `You cannot update ${frozen[0] ?? 'auto_advance'} on an invoice that is \`${inv.status}\`.`,
            { param: frozen[0] ?? 'auto_advance' },
          );
      }
      return [InvoiceUpdated({ at: command.at, ...c })];
    }
    case 'AddLine': {
      linesEditable(state);
      return [InvoiceLineAdded({ at: command.at, line: command.line })];
    }
    case 'ChangeLine': {
      const inv = linesEditable(state);
      if (!inv.lines.some((l) => l.id === command.line.id)) return [];
      return [InvoiceLineChanged({ at: command.at, line: command.line })];
    }
    case 'RemoveLine': {
      const inv = linesEditable(state);
      if (!inv.lines.some((l) => l.id === command.line)) return [];
      return [InvoiceLineRemoved({ at: command.at, line: command.line })];
    }
    case 'RefreshSubscriptionLines': {
      const inv = draft(state);
      if (inv.credits_applied) return []; // credits were computed on these lines: keep them
      const refreshed = InvoiceLinesRefreshed({ at: command.at, lines: command.lines });
      // Usage unchanged since the hand-over (the common case): nothing to record.
      if (canonical(evolveInvoice(inv, refreshed)!.lines) === canonical(inv.lines)) return [];
      return [refreshed];
    }
    case 'RecordCreditApplications': {
      const inv = draft(state);
      if (inv.credits_applied) return []; // the ledger is idempotent by invoice; so are we
      // No credit pays this invoice (the ledger stored nothing for it either): nothing to record,
      // and nothing to freeze; the finalization that asked commits in the same unit.
      if (command.applications.length === 0) return [];
      const byLine = new Map<string, bigint>();
      for (const a of command.applications) {
        const line = inv.lines.find((l) => l.id === a.line);
        if (!line)
          throw new DomainError('credit_application_invalid', `Credit applied to unknown line ${a.line}.`, {
            status: 500,
            type: 'api_error',
          });
        byLine.set(a.line, (byLine.get(a.line) ?? 0n) + BigInt(a.amount));
      }
      for (const [lineId, amount] of byLine) {
        const line = inv.lines.find((l) => l.id === lineId)!;
        if (amount > line.amount || amount < 0n)
          throw new DomainError('credit_application_invalid', `Credits on line ${lineId} exceed its amount.`, {
            status: 500,
            type: 'api_error',
          });
      }
      return [InvoiceCreditsApplied({ at: command.at, applications: command.applications })];
    }
    case 'FinalizeInvoice': {
      const inv = existing(state);
      if (inv.status !== 'draft') throw transitionInvalid(inv, 'finalize');
      const events: InvoiceEvent[] = [
        InvoiceFinalized({
          at: command.at,
          number: command.number,
          ...(command.auto_advance !== undefined ? { auto_advance: command.auto_advance } : {}),
        }),
      ];
      // Stripe marks an invoice with nothing to collect as paid the moment it finalizes.
      if (totals(inv).amount_due === 0n) events.push(InvoicePaid({ at: command.at, amount_paid: '0', paid_out_of_band: false }));
      return events;
    }
    case 'PayInvoice': {
      const inv = existing(state);
      if (inv.status === 'paid') throw new DomainError('invoice_already_paid', 'Invoice is already paid.');
      if (inv.status !== 'open' && inv.status !== 'uncollectible') throw transitionInvalid(inv, 'pay');
      const t = totals(inv);
      return [InvoicePaid({ at: command.at, amount_paid: t.amount_due.toString(), paid_out_of_band: command.paid_out_of_band })];
    }
    case 'VoidInvoice': {
      const inv = existing(state);
      if (inv.status !== 'open' && inv.status !== 'uncollectible') throw transitionInvalid(inv, 'void');
      return [InvoiceVoided({ at: command.at })];
    }
    case 'MarkUncollectible': {
      const inv = existing(state);
      if (inv.status !== 'open') throw transitionInvalid(inv, 'mark uncollectible');
      return [InvoiceMarkedUncollectible({ at: command.at })];
    }
    case 'SendInvoice': {
      const inv = existing(state);
      if (inv.status !== 'open') throw transitionInvalid(inv, 'send');
      return [InvoiceSent({ at: command.at })];
    }
    case 'DeleteInvoice': {
      const inv = existing(state);
      if (inv.status !== 'draft')
        throw new DomainError('invoice_not_editable', 'You can only delete draft invoices. Use void for finalized invoices.');
      if (inv.idempotency_key !== null || inv.billing_reason.startsWith('subscription'))
        throw new DomainError('invoice_not_editable', 'You cannot delete a draft invoice created by a subscription.');
      return [InvoiceDeleted({ at: command.at })];
    }
    default:
      return assertNever(command);
  }
}

/** A stable text of a value: object keys sorted, bigints as decimal strings (for equality). */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    typeof x === 'bigint'
      ? x.toString()
      : x && typeof x === 'object' && !Array.isArray(x)
        ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : x,
  );

const toLine = (l: LineData, credits: CreditApplication[] = []): Line => ({ ...l, amount: BigInt(l.amount), credits });

export function evolveInvoice(state: InvoiceState, event: InvoiceEvent): InvoiceState {
  if (event.type === 'InvoiceCreated') {
    const d = event.data;
    return {
      id: d.id,
      customer: d.customer,
      currency: d.currency,
      created: d.created,
      status: 'draft',
      deleted: false,
      billing_reason: d.billing_reason,
      collection_method: d.collection_method,
      auto_advance: d.auto_advance,
      automatically_finalizes_at: d.automatically_finalizes_at,
      description: d.description,
      metadata: d.metadata,
      test_clock: d.test_clock,
      subscription: d.subscription,
      period_start: d.period_start,
      period_end: d.period_end,
      days_until_due: d.days_until_due,
      due_date: d.due_date,
      footer: d.footer,
      idempotency_key: d.idempotency_key,
      number: null,
      lines: d.lines.map((l) => toLine(l)),
      credits_applied: false,
      amount_paid: 0n,
      paid_out_of_band: false,
      status_transitions: { finalized_at: null, marked_uncollectible_at: null, paid_at: null, voided_at: null },
      updated: d.created,
    };
  }
  if (!state) return state; // an event without its creation: ignore (evolve never throws)
  const s: Invoice = { ...state, updated: 'at' in event.data ? event.data.at : state.updated };
  switch (event.type) {
    case 'InvoiceUpdated': {
      const { at: _at, ...c } = event.data;
      const next = { ...s };
      for (const [k, v] of Object.entries(c)) if (v !== undefined) (next as Record<string, unknown>)[k] = v;
      return next;
    }
    case 'InvoiceLineAdded':
      return { ...s, lines: [...s.lines, toLine(event.data.line)] };
    case 'InvoiceLineChanged':
      return { ...s, lines: s.lines.map((l) => (l.id === event.data.line.id ? toLine(event.data.line, l.credits) : l)) };
    case 'InvoiceLineRemoved':
      return { ...s, lines: s.lines.filter((l) => l.id !== event.data.line) };
    case 'InvoiceLinesRefreshed': {
      // Re-rated lines replace the line with the same id (kept per subscription item); new ones append.
      const fresh = new Map(event.data.lines.map((l) => [l.id, l]));
      const lines = s.lines.map((l) => (fresh.has(l.id) ? toLine(fresh.get(l.id)!) : l));
      for (const l of event.data.lines) if (!s.lines.some((x) => x.id === l.id)) lines.push(toLine(l));
      return { ...s, lines };
    }
    case 'InvoiceCreditsApplied': {
      const lines = s.lines.map((l) => {
        const mine = event.data.applications.filter((a) => a.line === l.id);
        return mine.length === 0
          ? l
          : {
              ...l,
              credits: [
                ...l.credits,
                ...mine.map((a) => ({
                  amount: BigInt(a.amount),
                  credit_balance_transaction: a.credit_balance_transaction,
                  credit_grant: a.credit_grant,
                })),
              ],
            };
      });
      return { ...s, lines, credits_applied: true };
    }
    case 'InvoiceFinalized':
      return {
        ...s,
        status: 'open',
        number: event.data.number,
        auto_advance: event.data.auto_advance ?? s.auto_advance,
        automatically_finalizes_at: null,
        status_transitions: { ...s.status_transitions, finalized_at: event.data.at },
      };
    case 'InvoicePaid':
      return {
        ...s,
        status: 'paid',
        amount_paid: BigInt(event.data.amount_paid),
        paid_out_of_band: event.data.paid_out_of_band,
        status_transitions: { ...s.status_transitions, paid_at: event.data.at },
      };
    case 'InvoiceVoided':
      return { ...s, status: 'void', status_transitions: { ...s.status_transitions, voided_at: event.data.at } };
    case 'InvoiceMarkedUncollectible':
      return { ...s, status: 'uncollectible', status_transitions: { ...s.status_transitions, marked_uncollectible_at: event.data.at } };
    case 'InvoiceSent':
      return s;
    case 'InvoiceDeleted':
      return { ...s, deleted: true };
    default:
      return state;
  }
}

/** The invoice aggregate as the command pipeline runs it (`{ initialState, decide, evolve }`). */
export const invoiceDecider = { initialState: initialInvoiceState, decide: decideInvoice, evolve: evolveInvoice };

/** The Stripe event types a stored invoice event is announced as. */
export function stripeTypesFor(event: InvoiceEvent): string[] {
  switch (event.type) {
    case 'InvoiceCreated':
      return ['invoice.created'];
    case 'InvoiceUpdated':
    case 'InvoiceLineAdded':
    case 'InvoiceLineChanged':
    case 'InvoiceLineRemoved':
      return ['invoice.updated'];
    case 'InvoiceLinesRefreshed':
    case 'InvoiceCreditsApplied':
      return []; // steps of finalization, announced by invoice.finalized
    case 'InvoiceFinalized':
      return ['invoice.finalized', 'invoice.updated'];
    case 'InvoicePaid':
      return ['invoice.paid', 'invoice.payment_succeeded'];
    case 'InvoiceVoided':
      return ['invoice.voided'];
    case 'InvoiceMarkedUncollectible':
      return ['invoice.marked_uncollectible'];
    case 'InvoiceSent':
      return ['invoice.sent'];
    case 'InvoiceDeleted':
      return ['invoice.deleted'];
    default:
      return assertNever(event);
  }
}
