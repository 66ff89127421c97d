import { Module } from '@nestjs/common';
import type pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { CommandPipeline, type PgEventStore } from '@meterflow/event-store';
import { CLOCK, type Clock } from '@meterflow/kernel';
import type { RpcClient } from '@meterflow/messaging';
import type { Logger } from '@meterflow/observability';
import { CustomerDirectory } from '@meterflow/rating-client';
import { CONFIG, EVENT_STORE, LOGGER, MIKRO_ORM, PG_POOL, RPC_CLIENT } from '@meterflow/service-kit';
import { DueInvoices } from './application/due-invoices.js';
import { Finalization } from './application/finalization.js';
import { InvoiceCommands } from './application/invoice-commands.js';
import { InvoiceExplanations } from './application/invoice-explanation.js';
import { InvoiceItemCommands } from './application/invoice-item-commands.js';
import { AGGREGATES, invoicingAggregates, type InvoicingAggregates } from './application/invoicing.aggregates.js';
import {
  CLOSE_PARTITIONS,
  CUSTOMERS,
  DUE_DRAFTS,
  EXPLANATION_PEERS,
  INVOICE_RECORDS,
  INVOICING_SETTINGS,
  PEERS,
  PENDING_ITEM_READS,
  PREVIEW_PEERS,
  type ClosePartitions,
  type Customers,
  type DueDrafts,
  type ExplanationPeers,
  type InvoiceRecords,
  type InvoicingSettings,
  type PendingItemReads,
  type Peers,
  type PreviewPeers,
} from './application/ports.js';
import { InvoicePreview } from './application/invoice-preview.js';
import { SubscriptionInvoices } from './application/subscription-invoices.js';
import { RpcExplanationPeers } from './adapters/nats/explanation-peers.js';
import { NatsClosePartitions } from './adapters/nats/close-partitions.js';
import { FinalizationScheduler } from './adapters/nats/finalization.scheduler.js';
import { RpcPeers } from './adapters/nats/rpc-peers.js';
import { PgDueDrafts, PgInvoiceRecords, PgPendingItemReads } from './adapters/persistence/invoice-records.js';
import { InvoiceQueries } from './adapters/persistence/invoice.queries.js';
import { invoiceProjections } from './adapters/projections/invoice.projection.js';
import { ExplanationController } from './adapters/rpc/explanation.controller.js';
import { InternalController } from './adapters/rpc/internal.controller.js';
import { InvoiceItemsController } from './adapters/rpc/invoice-items.controller.js';
import { InvoicesController } from './adapters/rpc/invoices.controller.js';
import type { InvoicingEnv } from './invoicing.definition.js';

@Module({
  controllers: [InvoicesController, InvoiceItemsController, InternalController, ExplanationController],
  providers: [
    // ports -> adapters
    { provide: PEERS, inject: [RPC_CLIENT], useFactory: (rpc: RpcClient) => new RpcPeers(rpc) },
    { provide: EXPLANATION_PEERS, inject: [RPC_CLIENT], useFactory: (rpc: RpcClient) => new RpcExplanationPeers(rpc) },
    { provide: PREVIEW_PEERS, useExisting: PEERS },
    { provide: PENDING_ITEM_READS, inject: [PG_POOL], useFactory: (pool: pg.Pool) => new PgPendingItemReads(pool) },
    { provide: CUSTOMERS, inject: [RPC_CLIENT, CLOCK], useFactory: (rpc: RpcClient, clock: Clock) => new CustomerDirectory(rpc, clock) },
    { provide: INVOICE_RECORDS, useFactory: () => new PgInvoiceRecords() },
    { provide: DUE_DRAFTS, inject: [PG_POOL], useFactory: (pool: pg.Pool) => new PgDueDrafts(pool) },
    {
      provide: CLOSE_PARTITIONS,
      inject: [RPC_CLIENT, PG_POOL, CONFIG],
      useFactory: (rpc: RpcClient, pool: pg.Pool, c: InvoicingEnv) => new NatsClosePartitions(rpc, pool, c.INVOICE_CLOSE_PARTITIONS),
    },
    {
      provide: INVOICING_SETTINGS,
      inject: [CONFIG],
      useFactory: (c: InvoicingEnv): InvoicingSettings => ({ graceSeconds: c.INVOICE_FINALIZATION_GRACE_SECONDS }),
    },
    // the command pipeline and the aggregates it runs (projections from adapters/projections)
    { provide: CommandPipeline, inject: [EVENT_STORE], useFactory: (store: PgEventStore) => new CommandPipeline(store) },
    { provide: AGGREGATES, useFactory: () => invoicingAggregates(invoiceProjections) },
    // use cases
    {
      provide: InvoiceCommands,
      inject: [CommandPipeline, AGGREGATES, CUSTOMERS, INVOICE_RECORDS, INVOICING_SETTINGS],
      useFactory: (p: CommandPipeline, a: InvoicingAggregates, c: Customers, r: InvoiceRecords, s: InvoicingSettings) =>
        new InvoiceCommands(p, a, c, r, s),
    },
    {
      provide: InvoiceItemCommands,
      inject: [CommandPipeline, AGGREGATES, CUSTOMERS, PEERS],
      useFactory: (p: CommandPipeline, a: InvoicingAggregates, c: Customers, peers: Peers) => new InvoiceItemCommands(p, a, c, peers),
    },
    {
      provide: SubscriptionInvoices,
      inject: [CommandPipeline, AGGREGATES, INVOICE_RECORDS, INVOICING_SETTINGS],
      useFactory: (p: CommandPipeline, a: InvoicingAggregates, r: InvoiceRecords, s: InvoicingSettings) =>
        new SubscriptionInvoices(p, a, r, s),
    },
    {
      provide: Finalization,
      inject: [CommandPipeline, AGGREGATES, PEERS, CUSTOMERS, INVOICE_RECORDS],
      useFactory: (p: CommandPipeline, a: InvoicingAggregates, peers: Peers, c: Customers, r: InvoiceRecords) =>
        new Finalization(p, a, peers, c, r),
    },
    {
      provide: DueInvoices,
      inject: [DUE_DRAFTS, Finalization, LOGGER, CONFIG, CLOSE_PARTITIONS],
      useFactory: (d: DueDrafts, f: Finalization, logger: Logger, c: InvoicingEnv, close: ClosePartitions) =>
        new DueInvoices(d, f, logger, c.INVOICE_FINALIZE_BATCH_SIZE, close),
    },
    {
      provide: InvoiceExplanations,
      inject: [CommandPipeline, AGGREGATES, EXPLANATION_PEERS],
      useFactory: (p: CommandPipeline, a: InvoicingAggregates, peers: ExplanationPeers) => new InvoiceExplanations(p, a, peers),
    },
    {
      provide: InvoicePreview,
      inject: [CommandPipeline, AGGREGATES, PREVIEW_PEERS, PENDING_ITEM_READS],
      useFactory: (p: CommandPipeline, a: InvoicingAggregates, peers: PreviewPeers, r: PendingItemReads) =>
        new InvoicePreview(p, a, peers, r),
    },
    { provide: InvoiceQueries, inject: [MIKRO_ORM], useFactory: (orm: MikroORM) => new InvoiceQueries(orm) },
    FinalizationScheduler,
  ],
})
export class InvoicingModule {}
