import { Inject, Injectable } from '@nestjs/common';
import type { AggregateType, CommandContext } from '@meterflow/event-store';
import type { CustomerEvent, PriceEvent, ProductEvent } from '../domain/catalog.events.js';
import { customerDecider, type CustomerCommand, type CustomerState } from '../domain/customer.decider.js';
import { priceDecider, type PriceCommand, type PriceState } from '../domain/price.decider.js';
import { productDecider, type ProductCommand, type ProductState } from '../domain/product.decider.js';
import {
  subscriptionDecider,
  type SubscriptionAnyCommand,
  type SubscriptionAnyEvent,
  type SubscriptionUnitCommand,
} from '../domain/subscription.aggregate.js';
import type { SubscriptionState } from '../domain/subscription.types.js';
import {
  testClockDecider,
  toStripeTestClock,
  type TestClockCommand,
  type TestClockEvent,
  type TestClockState,
} from '../domain/test-clock.decider.js';
import { READ_MODELS, type RatingReadModels } from './ports.js';
import { fact, subscriptionFacts } from './stripe-facts.js';
import { TimeService } from './time.service.js';

export type CustomerType = AggregateType<CustomerState, CustomerCommand, CustomerEvent>;
export type ProductType = AggregateType<ProductState, ProductCommand, ProductEvent>;
export type PriceType = AggregateType<PriceState, PriceCommand, PriceEvent>;
export type TestClockType = AggregateType<TestClockState | null, TestClockCommand, TestClockEvent>;
export type SubscriptionType = AggregateType<SubscriptionState | null, SubscriptionUnitCommand, SubscriptionAnyEvent>;

/** One stream per object, named by its id. */
const byId = (id: string): string => id;

const TEST_CLOCK_FACTS: Partial<Record<TestClockEvent['type'], string>> = {
  TestClockCreated: 'test_helpers.test_clock.created',
  TestClockAdvanceStarted: 'test_helpers.test_clock.advancing',
  TestClockReady: 'test_helpers.test_clock.ready',
  TestClockAdvanceFailed: 'test_helpers.test_clock.internal_failure',
  TestClockDeleted: 'test_helpers.test_clock.deleted',
};

/** When a subscription command happens (a test clock's time): the Stripe event's `created`. */
function commandTime(c: SubscriptionAnyCommand): number | null {
  switch (c.type) {
    case 'CreateSubscription':
      return c.input.now;
    case 'ClosePeriod':
      return c.closing.period_end;
    case 'AcknowledgeInvoice':
      return null;
    default:
      return c.now;
  }
}

/**
 * Rating's aggregate types for the command pipeline: the domain's deciders, the Stripe events
 * announcing each change (the `StripeEventEmitted` recorded with it; for subscriptions a
 * `StripeEventAnnounced`, rendered at publish time), and the read models
 * (snapshot + projection) from the READ_MODELS port.
 */
@Injectable()
export class RatingAggregates {
  readonly customer: CustomerType;
  readonly product: ProductType;
  readonly price: PriceType;
  readonly testClock: TestClockType;
  readonly subscription: SubscriptionType;

  constructor(
    @Inject(READ_MODELS) readonly models: RatingReadModels,
    time: TimeService,
  ) {
    const m = models;
    this.customer = {
      name: 'customer',
      streamId: byId,
      decider: customerDecider,
      snapshot: m.customers.snapshot,
      project: m.customers.project,
      announce: ({ event, before }, ctx) => {
        switch (event.type) {
          case 'CustomerCreated':
            return [fact('customer.created', event.data.customer, event.data.customer.created, ctx)];
          case 'CustomerUpdated':
            return [fact('customer.updated', event.data.customer, event.data.customer.created, ctx, event.data.previous_attributes)];
          case 'CustomerDeleted':
            return before ? [fact('customer.deleted', before.object, before.object.created, ctx)] : [];
        }
      },
    };
    this.product = {
      name: 'product',
      streamId: byId,
      decider: productDecider,
      snapshot: m.products.snapshot,
      project: m.products.project,
      announce: ({ event }, ctx) =>
        event.type === 'ProductCreated'
          ? [fact('product.created', event.data.product, event.data.product.created, ctx)]
          : [fact('product.updated', event.data.product, event.data.product.updated, ctx, event.data.previous_attributes)],
    };
    this.price = {
      name: 'price',
      streamId: byId,
      decider: priceDecider,
      snapshot: m.prices.snapshot,
      project: m.prices.project,
      announce: ({ event }, ctx) =>
        event.type === 'PriceCreated'
          ? [fact('price.created', event.data.price, event.data.price.created, ctx)]
          : [fact('price.updated', event.data.price, time.systemNow(), ctx, event.data.previous_attributes)],
    };
    this.testClock = {
      name: 'test_clock',
      streamId: byId,
      decider: testClockDecider,
      snapshot: m.testClocks.snapshot,
      project: m.testClocks.project,
      announce: ({ event, before, after }, ctx) => {
        const type = TEST_CLOCK_FACTS[event.type];
        // a deleted clock is announced as it was
        const object = event.type === 'TestClockDeleted' ? before : after;
        const at = event.type === 'TestClockCreated' ? event.data.clock.created : time.systemNow();
        return type && object ? [fact(type, toStripeTestClock(object), at, ctx)] : [];
      },
    };
    this.subscription = {
      name: 'subscription',
      streamId: byId,
      decider: subscriptionDecider,
      snapshot: m.subscriptions.snapshot,
      project: m.subscriptions.project,
      // One Stripe event per command (a close and its acknowledgements are one change);
      // acknowledging an invoice alone is not announced.
      announceChange: ({ command, before, after, since }, ctx: CommandContext) => {
        const commands = command.type === 'Sequence' ? command.commands : [command];
        const at = commands.map(commandTime).find((t) => t !== null);
        return at === undefined || at === null ? [] : subscriptionFacts(before, after, at, since, ctx);
      },
    };
  }
}
