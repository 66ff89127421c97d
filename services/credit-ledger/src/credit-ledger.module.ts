import { Module } from '@nestjs/common';
import { CommandPipeline, type PgEventStore } from '@meterflow/event-store';
import { CLOCK, type Clock } from '@meterflow/kernel';
import type { RpcClient } from '@meterflow/messaging';
import { CustomerDirectory } from '@meterflow/rating-client';
import { EVENT_STORE, RPC_CLIENT } from '@meterflow/service-kit';
import { ApplyCreditsHandler } from './application/apply-credits.handler.js';
import { PreviewCreditsHandler } from './application/preview-credits.handler.js';
import { BalanceQueries } from './application/balances.queries.js';
import { creditGrantAggregate } from './application/credit-grant.aggregate.js';
import { CreditExplanations } from './application/credit-explanations.js';
import { CreditGrantsHandler } from './application/credit-grants.handler.js';
import { GrantScheduleHandler } from './application/grant-schedule.handler.js';
import { InvoiceCreditsHandler } from './application/invoice-credits.handler.js';
import {
  APPLICATION_READS,
  CUSTOMERS,
  GRANT_READS,
  GRANTS,
  LEDGER_PROJECTION,
  PIPELINE,
  SCHEDULE_READS,
  TRANSACTION_READS,
  type LedgerProjection,
} from './application/ports.js';
import { InvoiceEventsConsumer } from './adapters/nats/invoice-events.consumer.js';
import { PgApplicationReads } from './adapters/persistence/credit-application.repository.js';
import { PgGrantReads, PgTransactionReads } from './adapters/persistence/ledger-read-models.repository.js';
import { GrantsProjection } from './adapters/projections/ledger.projection.js';
import { CreditGrantsController } from './adapters/rpc/credit-grants.controller.js';
import { ExplanationController } from './adapters/rpc/explanation.controller.js';
import { LedgerInternalController } from './adapters/rpc/ledger-internal.controller.js';
import { RealtimeScheduler } from './adapters/scheduler/realtime.scheduler.js';

/** Use cases in application/, ports in application/ports.ts, wired here to their adapters. */
@Module({
  controllers: [CreditGrantsController, LedgerInternalController, ExplanationController],
  providers: [
    { provide: PIPELINE, useFactory: (store: PgEventStore) => new CommandPipeline(store), inject: [EVENT_STORE] },
    { provide: CUSTOMERS, useFactory: (rpc: RpcClient, clock: Clock) => new CustomerDirectory(rpc, clock), inject: [RPC_CLIENT, CLOCK] },
    { provide: LEDGER_PROJECTION, useClass: GrantsProjection },
    { provide: GRANTS, useFactory: (p: LedgerProjection) => creditGrantAggregate(p), inject: [LEDGER_PROJECTION] },
    PgGrantReads,
    { provide: GRANT_READS, useExisting: PgGrantReads },
    { provide: SCHEDULE_READS, useExisting: PgGrantReads },
    { provide: TRANSACTION_READS, useClass: PgTransactionReads },
    { provide: APPLICATION_READS, useClass: PgApplicationReads },
    CreditGrantsHandler,
    ApplyCreditsHandler,
    PreviewCreditsHandler,
    InvoiceCreditsHandler,
    GrantScheduleHandler,
    BalanceQueries,
    CreditExplanations,
    InvoiceEventsConsumer,
    RealtimeScheduler,
  ],
})
export class CreditLedgerModule {}
