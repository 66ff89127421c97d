import { defineEntity, p } from '@mikro-orm/core';

/**
 * Read models (MikroORM), projected from the event store in the same transaction as each
 * append (`ledger.projection.ts`) and rebuildable by replay. Amounts are minor units.
 */
export const CreditGrantRecord = defineEntity({
  name: 'CreditGrantRecord',
  tableName: 'credit_grants',
  properties: {
    id: p.string().primary(),
    customer: p.string(),
    test_clock: p.string().nullable(),
    currency: p.string(),
    amount: p.bigint('string'),
    category: p.string(),
    price_type: p.string().nullable(),
    prices: p.array().nullable(),
    priority: p.integer(),
    effective_at: p.bigint('number'),
    expires_at: p.bigint('number').nullable(),
    name: p.string().nullable(),
    metadata: p.json<Record<string, string>>(),
    created: p.bigint('number'),
    updated: p.bigint('number'),
    voided_at: p.bigint('number').nullable(),
    expired_at: p.bigint('number').nullable(),
    granted: p.boolean(),
    ledger_balance: p.bigint('string'),
  },
});

export const CreditBalanceTransactionRecord = defineEntity({
  name: 'CreditBalanceTransactionRecord',
  tableName: 'credit_balance_transactions',
  properties: {
    id: p.string().primary(),
    credit_grant: p.string(),
    customer: p.string(),
    test_clock: p.string().nullable(),
    currency: p.string(),
    type: p.string(),
    reason: p.string(),
    amount: p.bigint('string'),
    effective_at: p.bigint('number'),
    created: p.bigint('number'),
    invoice: p.string().nullable(),
    invoice_line_item: p.string().nullable(),
    idempotency_key: p.string(),
    global_position: p.bigint('string'),
  },
});

export const creditLedgerEntities = [CreditGrantRecord, CreditBalanceTransactionRecord];
