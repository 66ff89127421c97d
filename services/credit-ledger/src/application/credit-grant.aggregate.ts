import type { CreditGrantEvent } from '@meterflow/contracts';
import { announceStripeEvent, type CommandContext, type NewEvent, type StripeEventRendering } from '@meterflow/event-store';
import { newId, sameJson } from '@meterflow/kernel';
import {
  grantDecider,
  parseGrantEvent,
  type GrantCommand,
  type GrantState,
  type NewGrant,
  type Posting,
} from '../domain/credit-grant.decider.js';
import { renderGrantState, renderTransaction } from './credit-ledger.presenters.js';
import type { GrantAggregate, LedgerProjection } from './ports.js';
import { streams } from './streams.js';

/** Ids of postings come in with the commands (the decider never generates them). */
export const nextTxnId = () => newId('creditBalanceTransaction');

/** When a grant event happened: the command's time, which the event carries. */
function occurredAt(e: CreditGrantEvent): number {
  switch (e.type) {
    case 'CreditGrantCreated':
    case 'CreditBalanceTransactionRecorded':
      return e.data.created;
    case 'CreditGrantUpdated':
    case 'CreditGrantExpired':
    case 'CreditGrantVoided':
      return e.data.updated;
  }
}

/** The Stripe event type each grant event is announced as. */
const STRIPE_TYPE: Record<CreditGrantEvent['type'], string> = {
  CreditGrantCreated: 'billing.credit_grant.created',
  CreditBalanceTransactionRecorded: 'billing.credit_balance_transaction.created',
  CreditGrantUpdated: 'billing.credit_grant.updated',
  CreditGrantExpired: 'billing.credit_grant.updated',
  CreditGrantVoided: 'billing.credit_grant.updated',
};

/**
 * The Stripe events recorded with each grant event: `billing.credit_grant.created`,
 * `billing.credit_grant.updated` and `billing.credit_balance_transaction.created` for every
 * posting, stored as their facts only (`StripeEventAnnounced`) and rendered from the grant's
 * stream when the relay publishes them (`grantEventRendering`).
 */
export function announceGrantEvent({ event }: { event: CreditGrantEvent }, ctx: CommandContext): NewEvent[] {
  return [announceStripeEvent(STRIPE_TYPE[event.type], occurredAt(event), ctx)];
}

/**
 * How the relay renders an announced grant event: the grant after the change
 * (`billing.credit_grant.*`; an update's `previous_attributes` the rendered fields that
 * changed) or the posting the change recorded (`billing.credit_balance_transaction.created`).
 */
export const grantEventRendering: StripeEventRendering<GrantState, CreditGrantEvent> = {
  renders: (type) => type.startsWith('billing.credit_grant.') || type.startsWith('billing.credit_balance_transaction.'),
  aggregate: { name: 'credit_grant', decider: grantDecider },
  render: (type, { before, after, event }) => {
    if (type === 'billing.credit_balance_transaction.created') {
      const posting = parseGrantEvent(event);
      if (posting?.type !== 'CreditBalanceTransactionRecorded') throw new Error(`credit_grant: ${type} announced after ${event.type}`);
      return { object: { ...renderTransaction(posting.data as Posting) } };
    }
    const next = renderGrantState(after) as unknown as Record<string, unknown>;
    if (type !== 'billing.credit_grant.updated') return { object: { ...next } };
    const prev = renderGrantState(before) as unknown as Record<string, unknown>;
    const changed: Record<string, unknown> = {};
    for (const k of Object.keys(next)) if (!sameJson(prev[k], next[k])) changed[k] = prev[k];
    return { object: next, previousAttributes: changed };
  },
};

/** Grants as the command pipeline runs them: one stream per grant, announced to Stripe, projected into the read models. */
export function creditGrantAggregate(projection: LedgerProjection): GrantAggregate {
  return {
    name: 'credit_grant',
    streamId: streams.grant,
    decider: grantDecider,
    announce: announceGrantEvent,
    project: (tx, changes) => projection.project(tx, changes),
  };
}

/** The one way a grant is made, whether asked for by the API or by a paid invoice. */
export function createGrantCommand(
  id: string,
  customer: { id: string; test_clock: string | null },
  terms: Omit<NewGrant, 'id' | 'customer' | 'testClock'>,
  now: number,
): GrantCommand {
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
  return { type: 'CreateGrant', now, nextTxnId, grant };
}
