import { Module } from '@nestjs/common';
import { CommandPipeline, type PgEventStore } from '@meterflow/event-store';
import { EVENT_STORE, PG_POOL } from '@meterflow/service-kit';
import type pg from 'pg';
import { PgCustomerIndex, PgPriceIndex, PgProductIndex } from './adapters/persistence/catalog-index.js';
import { ratingReadModels } from './adapters/persistence/read-models.js';
import { PgSubscriptionHistory } from './adapters/persistence/subscription-history.js';
import { PgSubscriptionIndex } from './adapters/persistence/subscription-index.js';
import { PgTestClockIndex } from './adapters/persistence/test-clock-index.js';
import { CatalogController } from './adapters/rpc/catalog.controller.js';
import { CustomersController } from './adapters/rpc/customers.controller.js';
import { ExplanationController } from './adapters/rpc/explanation.controller.js';
import { InternalController } from './adapters/rpc/internal.controller.js';
import { SubscriptionsController } from './adapters/rpc/subscriptions.controller.js';
import { TestClocksController } from './adapters/rpc/test-clocks.controller.js';
import { PeriodCloseScheduler } from './adapters/scheduler/period-close.scheduler.js';
import { RatingAggregates } from './application/aggregates.js';
import { ClockAdvanceRunner } from './application/clock-advance.runner.js';
import { CustomersHandler } from './application/customers.handler.js';
import { LineExplanations } from './application/line-explanations.js';
import { PeriodRerating } from './application/period-rerating.js';
import { InvoicePreviewService } from './application/invoice-preview.service.js';
import { ThresholdInvoicing } from './application/threshold-invoicing.service.js';
import { ThresholdScheduler } from './adapters/scheduler/threshold.scheduler.js';
import { PeriodCloseService } from './application/period-close.service.js';
import {
  CUSTOMER_INDEX,
  PIPELINE,
  PRICE_INDEX,
  PRODUCT_INDEX,
  READ_MODELS,
  SUBSCRIPTION_HISTORY,
  SUBSCRIPTION_INDEX,
  SUBSCRIPTION_SCHEDULE,
  TEST_CLOCK_INDEX,
} from './application/ports.js';
import { PricesHandler } from './application/prices.handler.js';
import { ProductsHandler } from './application/products.handler.js';
import { SubscriptionCancelHandler } from './application/subscription-cancel.handler.js';
import { SubscriptionCreateHandler } from './application/subscription-create.handler.js';
import { SubscriptionItemsHandler } from './application/subscription-items.handler.js';
import { SubscriptionQueries } from './application/subscription-queries.js';
import { SubscriptionUpdateHandler } from './application/subscription-update.handler.js';
import { SubscriptionWrites } from './application/subscription-writes.js';
import { TestClocksHandler } from './application/test-clocks.handler.js';
import { UsageRatingService } from './application/usage-rating.service.js';
import { TimeService } from './application/time.service.js';

@Module({
  controllers: [
    CustomersController,
    CatalogController,
    SubscriptionsController,
    TestClocksController,
    InternalController,
    ExplanationController,
  ],
  providers: [
    // ports (application/ports.ts) -> adapters
    { provide: READ_MODELS, inject: [EVENT_STORE], useFactory: (store: PgEventStore) => ratingReadModels(store.pool) },
    { provide: PgSubscriptionIndex, inject: [PG_POOL], useFactory: (pool: pg.Pool) => new PgSubscriptionIndex(pool) },
    { provide: SUBSCRIPTION_INDEX, useExisting: PgSubscriptionIndex },
    { provide: SUBSCRIPTION_SCHEDULE, useExisting: PgSubscriptionIndex },
    { provide: TEST_CLOCK_INDEX, inject: [PG_POOL], useFactory: (pool: pg.Pool) => new PgTestClockIndex(pool) },
    { provide: CUSTOMER_INDEX, inject: [PG_POOL], useFactory: (pool: pg.Pool) => new PgCustomerIndex(pool) },
    { provide: PRODUCT_INDEX, inject: [PG_POOL], useFactory: (pool: pg.Pool) => new PgProductIndex(pool) },
    { provide: PRICE_INDEX, inject: [PG_POOL], useFactory: (pool: pg.Pool) => new PgPriceIndex(pool) },
    { provide: SUBSCRIPTION_HISTORY, inject: [EVENT_STORE], useFactory: (store: PgEventStore) => new PgSubscriptionHistory(store) },
    { provide: PIPELINE, inject: [EVENT_STORE], useFactory: (store: PgEventStore) => new CommandPipeline(store) },
    RatingAggregates,
    TimeService,
    CustomersHandler,
    ProductsHandler,
    PricesHandler,
    UsageRatingService,
    PeriodCloseService,
    PeriodRerating,
    LineExplanations,
    InvoicePreviewService,
    SubscriptionWrites,
    SubscriptionQueries,
    SubscriptionItemsHandler,
    SubscriptionCreateHandler,
    SubscriptionUpdateHandler,
    SubscriptionCancelHandler,
    ThresholdInvoicing,
    ThresholdScheduler,
    ClockAdvanceRunner,
    TestClocksHandler,
    PeriodCloseScheduler,
  ],
})
export class RatingModule {}
