import { Module } from '@nestjs/common';
import type pg from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { PgEventStore } from '@meterflow/event-store';
import { CLOCK, type Clock } from '@meterflow/kernel';
import type { RpcClient } from '@meterflow/messaging';
import type { Logger } from '@meterflow/observability';
import { CONFIG, EVENT_STORE, LOGGER, MIKRO_ORM, PG_POOL, RPC_CLIENT } from '@meterflow/service-kit';
import { DueInvoices } from './application/due-invoices.js';
import { Finalization } from './application/finalization.js';
import { InvoiceCommands } from './application/invoice-commands.js';
import { InvoiceStore } from './application/invoice-store.js';
import { INVOICING_SETTINGS, PEERS, type InvoicingSettings, type Peers } from './application/ports.js';
import { FinalizationScheduler } from './adapters/nats/finalization.scheduler.js';
import { RpcPeers } from './adapters/nats/rpc-peers.js';
import { InvoiceQueries } from './adapters/persistence/invoice.queries.js';
import { InternalController } from './adapters/rpc/internal.controller.js';
import { InvoiceItemsController } from './adapters/rpc/invoice-items.controller.js';
import { InvoicesController } from './adapters/rpc/invoices.controller.js';
import type { InvoicingEnv } from './invoicing.definition.js';

@Module({
  controllers: [InvoicesController, InvoiceItemsController, InternalController],
  providers: [
    { provide: PEERS, inject: [RPC_CLIENT], useFactory: (rpc: RpcClient) => new RpcPeers(rpc) },
    {
      provide: INVOICING_SETTINGS,
      inject: [CONFIG],
      useFactory: (c: InvoicingEnv): InvoicingSettings => ({ graceSeconds: c.INVOICE_FINALIZATION_GRACE_SECONDS }),
    },
    { provide: InvoiceStore, inject: [EVENT_STORE], useFactory: (store: PgEventStore) => new InvoiceStore(store) },
    {
      provide: InvoiceCommands,
      inject: [InvoiceStore, PEERS, CLOCK, INVOICING_SETTINGS],
      useFactory: (s: InvoiceStore, p: Peers, c: Clock, settings: InvoicingSettings) => new InvoiceCommands(s, p, c, settings),
    },
    { provide: Finalization, inject: [InvoiceStore, PEERS], useFactory: (s: InvoiceStore, p: Peers) => new Finalization(s, p) },
    {
      provide: DueInvoices,
      inject: [PG_POOL, Finalization, LOGGER, CONFIG],
      useFactory: (pool: pg.Pool, f: Finalization, logger: Logger, c: InvoicingEnv) =>
        new DueInvoices(pool, f, logger, c.INVOICE_FINALIZE_BATCH_SIZE),
    },
    { provide: InvoiceQueries, inject: [MIKRO_ORM], useFactory: (orm: MikroORM) => new InvoiceQueries(orm) },
    FinalizationScheduler,
  ],
})
export class InvoicingModule {}
