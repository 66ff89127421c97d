import { Module } from '@nestjs/common';
import type { PgEventStore } from '@meterflow/event-store';
import { EVENT_STORE } from '@meterflow/service-kit';
import {
  CUSTOMERS,
  PRICES,
  PRODUCTS,
  SUBSCRIPTIONS,
  TEST_CLOCKS,
  customerRepository,
  priceRepository,
  productRepository,
  subscriptionRepository,
  testClockRepository,
} from './adapters/persistence/repositories.js';
import { CatalogController } from './adapters/rpc/catalog.controller.js';
import { InternalController } from './adapters/rpc/internal.controller.js';
import { SubscriptionsController } from './adapters/rpc/subscriptions.controller.js';
import { TestClocksController } from './adapters/rpc/test-clocks.controller.js';
import { PeriodCloseScheduler } from './adapters/scheduler/period-close.scheduler.js';
import { CatalogHandler } from './application/catalog.handler.js';
import { ClockAdvanceRunner } from './application/clock-advance.runner.js';
import { CustomersHandler } from './application/customers.handler.js';
import { PeriodRerating } from './application/period-rerating.js';
import { PeriodCloseService } from './application/period-close.service.js';
import { SubscriptionsHandler } from './application/subscriptions.handler.js';
import { TestClocksHandler } from './application/test-clocks.handler.js';
import { UsageRatingService } from './application/usage-rating.service.js';
import { TimeService } from './application/time.service.js';

const repo = (token: symbol, make: (store: PgEventStore) => unknown) => ({ provide: token, inject: [EVENT_STORE], useFactory: make });

@Module({
  controllers: [CatalogController, SubscriptionsController, TestClocksController, InternalController],
  providers: [
    repo(CUSTOMERS, customerRepository),
    repo(PRODUCTS, productRepository),
    repo(PRICES, priceRepository),
    repo(TEST_CLOCKS, testClockRepository),
    repo(SUBSCRIPTIONS, subscriptionRepository),
    TimeService,
    CustomersHandler,
    CatalogHandler,
    UsageRatingService,
    PeriodCloseService,
    PeriodRerating,
    SubscriptionsHandler,
    ClockAdvanceRunner,
    TestClocksHandler,
    PeriodCloseScheduler,
  ],
})
export class RatingModule {}
