import { Module } from '@nestjs/common';
import { CreditLedgerService } from './application/credit-ledger.service.js';
import { InvoiceEventsConsumer } from './adapters/nats/invoice-events.consumer.js';
import { CustomerDirectory } from './adapters/rating/customer-directory.js';
import { CreditGrantsController } from './adapters/rpc/credit-grants.controller.js';
import { LedgerInternalController } from './adapters/rpc/ledger-internal.controller.js';
import { RealtimeScheduler } from './adapters/scheduler/realtime.scheduler.js';

@Module({
  controllers: [CreditGrantsController, LedgerInternalController],
  providers: [CustomerDirectory, CreditLedgerService, InvoiceEventsConsumer, RealtimeScheduler],
})
export class CreditLedgerModule {}
