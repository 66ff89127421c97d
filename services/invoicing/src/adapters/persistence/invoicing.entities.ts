import { defineEntity, p } from '@mikro-orm/core';
import type { Stripe } from '@meterflow/contracts';

/**
 * Read models (MikroORM), projected from the event store in the same transaction as each
 * append (see `invoice.projection.ts`) and rebuildable by replay. Queries go through these.
 */
export const InvoiceRecord = defineEntity({
  name: 'InvoiceRecord',
  tableName: 'invoices',
  properties: {
    id: p.string().primary(),
    customer: p.string(),
    subscription: p.string().nullable(),
    status: p.string(),
    collection_method: p.string(),
    currency: p.string(),
    test_clock: p.string().nullable(),
    auto_advance: p.boolean(),
    automatically_finalizes_at: p.bigint('number').nullable(),
    created: p.bigint('number'),
    total: p.bigint('number'),
    amount_due: p.bigint('number'),
    idempotency_key: p.string().nullable(),
    version: p.integer(),
    object: p.json<Stripe.Invoice>(),
  },
});

export const InvoiceLineRecord = defineEntity({
  name: 'InvoiceLineRecord',
  tableName: 'invoice_lines',
  properties: {
    id: p.string().primary(),
    invoice: p.string(),
    position: p.integer(),
    object: p.json<Stripe.InvoiceLineItem>(),
  },
});

export const InvoiceItemRecord = defineEntity({
  name: 'InvoiceItemRecord',
  tableName: 'invoice_items',
  properties: {
    id: p.string().primary(),
    customer: p.string(),
    subscription: p.string().nullable(),
    invoice: p.string().nullable(),
    currency: p.string(),
    date: p.bigint('number'),
    version: p.integer(),
    object: p.json<Stripe.InvoiceItem>(),
  },
});

export const invoicingEntities = [InvoiceRecord, InvoiceLineRecord, InvoiceItemRecord];
