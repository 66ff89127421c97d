import { stripeEvent, type CreditGrantEvent } from '@meterflow/contracts';
import type { CommandContext, NewEvent } from '@meterflow/event-store';
import { newId } from '@meterflow/kernel';
import { grantDecider, type GrantCommand, type GrantState, type NewGrant, type Posting } from '../domain/credit-grant.decider.js';
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

/**
 * The Stripe events recorded with each grant event: `billing.credit_grant.created`,
 * `billing.credit_grant.updated` (with `previous_attributes`: the rendered fields that changed)
 * and `billing.credit_balance_transaction.created` for every posting.
 */
export function announceGrantEvent(
  { event, before, after }: { event: CreditGrantEvent; before: GrantState; after: GrantState },
  ctx: CommandContext,
): NewEvent[] {
  const at = occurredAt(event);
  const opts = { requestId: ctx.requestId ?? null, idempotencyKey: ctx.idempotencyKey ?? null };
  switch (event.type) {
    case 'CreditGrantCreated':
      return [stripeEvent(newId('event'), 'billing.credit_grant.created', { ...renderGrantState(after) }, at, opts)];
    case 'CreditBalanceTransactionRecorded':
      return [
        stripeEvent(
          newId('event'),
          'billing.credit_balance_transaction.created',
          { ...renderTransaction(event.data as Posting) },
          at,
          opts,
        ),
      ];
    case 'CreditGrantUpdated':
    case 'CreditGrantExpired':
    case 'CreditGrantVoided': {
      const prev = renderGrantState(before) as unknown as Record<string, unknown>;
      const next = renderGrantState(after) as unknown as Record<string, unknown>;
      const changed: Record<string, unknown> = {};
      for (const k of Object.keys(next)) if (JSON.stringify(prev[k]) !== JSON.stringify(next[k])) changed[k] = prev[k];
      return [stripeEvent(newId('event'), 'billing.credit_grant.updated', next, at, { ...opts, previousAttributes: changed })];
    }
  }
}

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
