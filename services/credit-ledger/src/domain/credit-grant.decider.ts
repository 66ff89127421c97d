// The credit grant aggregate: state, postings, commands, and one exhaustive decide and evolve. Over
// ~300 lines by choice, like invoice.decider.ts: a grant's commands and the postings they make read best side by side.
import { assertNever, DomainError, invalid } from '@meterflow/kernel';
import { applyMetadata } from '@meterflow/stripe-api';
import {
  CreditBalanceTransactionRecorded,
  CreditGrantCreated,
  CreditGrantExpired,
  CreditGrantUpdated,
  CreditGrantVoided,
  type CreditGrantEvent,
} from '@meterflow/contracts';

/** One posting = one Stripe `credit_balance_transaction` (the data of `CreditBalanceTransactionRecorded`). */
export type Posting = CreditBalanceTransactionRecorded['data'];
export type PostingReason = Posting['reason'];

export type Category = 'paid' | 'promotional';
export interface Scope {
  price_type: 'metered' | null;
  prices: string[] | null;
}

export interface GrantState {
  exists: boolean;
  id: string;
  customer: string;
  testClock: string | null;
  currency: string;
  amount: bigint;
  category: Category;
  scope: Scope;
  priority: number;
  effectiveAt: number;
  expiresAt: number | null;
  name: string | null;
  metadata: Record<string, string>;
  created: number;
  updated: number;
  voidedAt: number | null;
  /** Set once expiry has been processed (the `credits_expired` posting, if any, is recorded). */
  expiredAt: number | null;
  /** `credits_granted` has been posted (the grant became effective). */
  granted: boolean;
  /** Ledger balance: sum of credits minus debits. */
  balance: bigint;
  /** Idempotency keys of every posting: a write that repeats one has no second effect. */
  keys: Set<string>;
  /** Applied amount per `<invoice>:<line>`, for reinstatement. */
  applied: Map<string, bigint>;
}

export const initialGrantState = (): GrantState => ({
  exists: false,
  id: '',
  customer: '',
  testClock: null,
  currency: '',
  amount: 0n,
  category: 'paid',
  scope: { price_type: 'metered', prices: null },
  priority: 50,
  effectiveAt: 0,
  expiresAt: null,
  name: null,
  metadata: {},
  created: 0,
  updated: 0,
  voidedAt: null,
  expiredAt: null,
  granted: false,
  balance: 0n,
  keys: new Set(),
  applied: new Map(),
});

/** Loaded events carry amounts as strings: parse with the event's schema; skip what does not parse. */
export function evolveGrant(state: GrantState, event: { type: string; data: unknown }): GrantState {
  const e = parseGrantEvent(event);
  if (!e) return state;
  switch (e.type) {
    case 'CreditGrantCreated': {
      const d = e.data;
      return {
        ...initialGrantState(),
        exists: true,
        id: d.id,
        customer: d.customer,
        testClock: d.test_clock,
        currency: d.currency,
        amount: d.amount,
        category: d.category,
        scope: d.scope,
        priority: d.priority,
        effectiveAt: d.effective_at,
        expiresAt: d.expires_at,
        name: d.name,
        metadata: d.metadata,
        created: d.created,
        updated: d.created,
      };
    }
    case 'CreditGrantUpdated':
      return {
        ...state,
        ...(e.data.expires_at !== undefined ? { expiresAt: e.data.expires_at } : {}),
        ...(e.data.metadata !== undefined ? { metadata: e.data.metadata } : {}),
        updated: e.data.updated,
      };
    case 'CreditGrantExpired':
      return { ...state, expiresAt: e.data.expires_at, expiredAt: e.data.expires_at, updated: e.data.updated };
    case 'CreditGrantVoided':
      return { ...state, voidedAt: e.data.voided_at, updated: e.data.updated };
    case 'CreditBalanceTransactionRecorded': {
      const p = e.data;
      const keys = new Set(state.keys).add(p.idempotency_key);
      const signed = p.type === 'credit' ? p.amount : -p.amount;
      const applied = new Map(state.applied);
      if (p.reason === 'credits_applied' && p.invoice && p.invoice_line_item) {
        applied.set(`${p.invoice}:${p.invoice_line_item}`, p.amount);
      }
      return {
        ...state,
        keys,
        applied,
        balance: state.balance + signed,
        granted: state.granted || p.reason === 'credits_granted',
      };
    }
    default:
      return assertNever(e);
  }
}

const SCHEMAS = {
  CreditGrantCreated,
  CreditGrantUpdated,
  CreditGrantExpired,
  CreditGrantVoided,
  CreditBalanceTransactionRecorded,
} as const;

export function parseGrantEvent(event: { type: string; data: unknown }): CreditGrantEvent | undefined {
  const def = SCHEMAS[event.type as keyof typeof SCHEMAS];
  if (!def) return undefined;
  const parsed = def.schema.safeParse(event.data);
  return parsed.success ? ({ type: def.type, data: parsed.data } as CreditGrantEvent) : undefined;
}

export const foldGrant = (events: readonly { type: string; data: unknown }[]): GrantState =>
  events.reduce(evolveGrant, initialGrantState());

// ---- commands -------------------------------------------------------------------------------

export type NewGrant = Pick<
  GrantState,
  | 'id'
  | 'customer'
  | 'testClock'
  | 'currency'
  | 'amount'
  | 'category'
  | 'scope'
  | 'priority'
  | 'effectiveAt'
  | 'expiresAt'
  | 'name'
  | 'metadata'
>;

/** Ids come in with the command: the domain never generates them. */
export type NextId = () => string;

export type GrantCommand =
  | { type: 'CreateGrant'; grant: NewGrant; now: number; nextTxnId: NextId }
  /** Do whatever is due by `at`: become effective (`credits_granted`), then expire. */
  | { type: 'Tick'; at: number; nextTxnId: NextId }
  | { type: 'ApplyCredits'; invoice: string; line: string; amount: bigint; at: number; txnId: string }
  | { type: 'ReinstateApplication'; invoice: string; line: string; at: number; nextTxnId: NextId }
  | {
      type: 'UpdateGrant';
      now: number;
      /** undefined = unchanged, null = never expires. */
      expiresAt?: number | null;
      /** Stripe semantics: '' removes a key; `null` clears every key. */
      metadata?: Record<string, string> | null;
    }
  | { type: 'ExpireGrant'; at: number; nextTxnId: NextId }
  | { type: 'VoidGrant'; at: number; nextTxnId: NextId };

export type GrantEvent = CreditGrantEvent;

export const grantError = {
  voided: (id: string) => new DomainError('credit_grant_voided', `The credit grant '${id}' has been voided and can no longer be changed.`),
  expired: (id: string) =>
    new DomainError('credit_grant_expired', `The credit grant '${id}' has already expired and can no longer be changed.`),
};

function posting(
  s: GrantState,
  fields: {
    id: string;
    reason: PostingReason;
    amount: bigint;
    effectiveAt: number;
    created: number;
    key: string;
    invoice?: string;
    line?: string;
  },
): CreditGrantEvent {
  const credit = fields.reason === 'credits_granted' || fields.reason === 'credits_application_invoice_voided';
  return CreditBalanceTransactionRecorded({
    id: fields.id,
    credit_grant: s.id,
    customer: s.customer,
    test_clock: s.testClock,
    currency: s.currency,
    type: credit ? 'credit' : 'debit',
    reason: fields.reason,
    amount: fields.amount,
    effective_at: fields.effectiveAt,
    created: fields.created,
    invoice: fields.invoice ?? null,
    invoice_line_item: fields.line ?? null,
    idempotency_key: fields.key,
  }) as CreditGrantEvent;
}

/** A grant can pay an invoice at `at` when it is effective, funded, not expired by then and not voided. */
export function isUsableAt(s: GrantState, at: number): boolean {
  return (
    s.exists &&
    s.granted &&
    s.voidedAt === null &&
    s.expiredAt === null &&
    s.effectiveAt <= at &&
    (s.expiresAt === null || at < s.expiresAt)
  );
}

/** Events due by `at` (effective, then expiry), given the state; pure and repeatable. */
function due(s: GrantState, at: number, nextTxnId: NextId): CreditGrantEvent[] {
  if (!s.exists || s.voidedAt !== null || s.expiredAt !== null) return [];
  const out: CreditGrantEvent[] = [];
  let balance = s.balance;
  const becomesEffective = !s.granted && s.effectiveAt <= at && (s.expiresAt === null || s.effectiveAt < s.expiresAt);
  if (becomesEffective) {
    out.push(
      posting(s, { id: nextTxnId(), reason: 'credits_granted', amount: s.amount, effectiveAt: s.effectiveAt, created: at, key: 'granted' }),
    );
    balance += s.amount;
  }
  if (s.expiresAt !== null && s.expiresAt <= at) {
    out.push(CreditGrantExpired({ expires_at: s.expiresAt, updated: at }) as CreditGrantEvent);
    if (balance > 0n) {
      out.push(
        posting(s, { id: nextTxnId(), reason: 'credits_expired', amount: balance, effectiveAt: s.expiresAt, created: at, key: 'expired' }),
      );
    }
  }
  return out;
}

/** The next instant (unix s) at which this grant has work due, strictly after `after`; null if none. */
export function nextDueAt(s: GrantState, after: number): number | null {
  if (!s.exists || s.voidedAt !== null || s.expiredAt !== null) return null;
  const candidates: number[] = [];
  if (!s.granted && (s.expiresAt === null || s.effectiveAt < s.expiresAt)) candidates.push(s.effectiveAt);
  if (s.expiresAt !== null) candidates.push(s.expiresAt);
  const later = candidates.filter((t) => t > after);
  return later.length ? Math.min(...later) : null;
}

export function decideGrant(command: GrantCommand, s: GrantState): CreditGrantEvent[] {
  switch (command.type) {
    case 'CreateGrant': {
      if (s.exists) return [];
      const g = command.grant;
      if (g.amount <= 0n) throw invalid('amount[monetary][value]', 'The amount must be a positive integer.');
      if (g.expiresAt !== null && g.expiresAt <= g.effectiveAt) {
        throw invalid('expires_at', 'expires_at must be after effective_at.');
      }
      if (g.expiresAt !== null && g.expiresAt <= command.now) throw invalid('expires_at', 'expires_at must be in the future.');
      const created = CreditGrantCreated({
        id: g.id,
        customer: g.customer,
        test_clock: g.testClock,
        currency: g.currency,
        amount: g.amount,
        category: g.category,
        scope: g.scope,
        priority: g.priority,
        effective_at: g.effectiveAt,
        expires_at: g.expiresAt,
        name: g.name,
        metadata: g.metadata,
        created: command.now,
      }) as CreditGrantEvent;
      const after = evolveGrant(s, created);
      return [created, ...due(after, command.now, command.nextTxnId)];
    }
    case 'Tick':
      return due(s, command.at, command.nextTxnId);
    case 'ApplyCredits': {
      const key = `applied:${command.invoice}:${command.line}`;
      if (s.keys.has(key)) return [];
      if (!isUsableAt(s, command.at)) {
        throw new DomainError('credit_grant_not_usable', `The credit grant '${s.id}' cannot be applied at ${command.at}.`);
      }
      if (command.amount <= 0n || command.amount > s.balance) {
        throw new DomainError('credit_grant_insufficient_balance', `The credit grant '${s.id}' has ${s.balance}, not ${command.amount}.`);
      }
      return [
        posting(s, {
          id: command.txnId,
          reason: 'credits_applied',
          amount: command.amount,
          effectiveAt: command.at,
          created: command.at,
          key,
          invoice: command.invoice,
          line: command.line,
        }),
      ];
    }
    case 'ReinstateApplication': {
      const ref = `${command.invoice}:${command.line}`;
      const amount = s.applied.get(ref);
      const key = `reinstated:${ref}`;
      if (amount === undefined || s.keys.has(key)) return [];
      const at = command.at;
      const out = [
        posting(s, {
          id: command.nextTxnId(),
          reason: 'credits_application_invoice_voided',
          amount,
          effectiveAt: at,
          created: at,
          key,
          invoice: command.invoice,
          line: command.line,
        }),
      ];
      // Reinstated credits of a grant that has already expired (or was voided) leave again at once.
      if (s.expiredAt !== null) {
        out.push(
          posting(s, { id: command.nextTxnId(), reason: 'credits_expired', amount, effectiveAt: at, created: at, key: `expired:${ref}` }),
        );
      } else if (s.voidedAt !== null) {
        out.push(
          posting(s, { id: command.nextTxnId(), reason: 'credits_voided', amount, effectiveAt: at, created: at, key: `voided:${ref}` }),
        );
      }
      return out;
    }
    case 'UpdateGrant': {
      if (s.voidedAt !== null) throw grantError.voided(s.id);
      if (s.expiredAt !== null) throw grantError.expired(s.id);
      const out: { expires_at?: number | null; metadata?: Record<string, string> } = {};
      if (command.expiresAt !== undefined) {
        if (command.expiresAt !== null && command.expiresAt <= command.now) {
          throw invalid('expires_at', 'expires_at must be in the future.');
        }
        if (command.expiresAt !== null && command.expiresAt <= s.effectiveAt) {
          throw invalid('expires_at', 'expires_at must be after effective_at.');
        }
        out.expires_at = command.expiresAt;
      }
      if (command.metadata !== undefined) out.metadata = applyMetadata(s.metadata, command.metadata);
      return [CreditGrantUpdated({ ...out, updated: command.now }) as CreditGrantEvent];
    }
    case 'ExpireGrant': {
      if (s.voidedAt !== null) throw grantError.voided(s.id);
      if (s.expiredAt !== null) throw grantError.expired(s.id);
      const at = command.at;
      const out = [CreditGrantExpired({ expires_at: at, updated: at }) as CreditGrantEvent];
      if (s.balance > 0n) {
        out.push(
          posting(s, {
            id: command.nextTxnId(),
            reason: 'credits_expired',
            amount: s.balance,
            effectiveAt: at,
            created: at,
            key: 'expired',
          }),
        );
      }
      return out;
    }
    case 'VoidGrant': {
      if (s.voidedAt !== null) throw grantError.voided(s.id);
      const at = command.at;
      const out = [CreditGrantVoided({ voided_at: at, updated: at }) as CreditGrantEvent];
      if (s.balance > 0n) {
        out.push(
          posting(s, { id: command.nextTxnId(), reason: 'credits_voided', amount: s.balance, effectiveAt: at, created: at, key: 'voided' }),
        );
      }
      return out;
    }
    default:
      return assertNever(command);
  }
}

/**
 * The grant decider as the command pipeline (`AggregateType.decider`) and `deciderSpec` take it:
 * `{ initialState, decide, evolve }`, pure (ids and time come in the command).
 */
export const grantDecider: {
  initialState: () => GrantState;
  decide: (command: GrantCommand, state: GrantState) => CreditGrantEvent[];
  evolve: (state: GrantState, event: CreditGrantEvent) => GrantState;
} = { initialState: initialGrantState, decide: decideGrant, evolve: evolveGrant };

/** Decide, then fold the result: handy for commands run in sequence inside one transaction. */
export function run(s: GrantState, command: GrantCommand): { state: GrantState; events: CreditGrantEvent[] } {
  const events = decideGrant(command, s);
  return { state: events.reduce(evolveGrant, s), events };
}
