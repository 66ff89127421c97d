import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ApiRequest } from '@meterflow/contracts';
import { SubscriptionCancelHandler } from '../../application/subscription-cancel.handler.js';
import { SubscriptionCreateHandler } from '../../application/subscription-create.handler.js';
import { SubscriptionItemsHandler } from '../../application/subscription-items.handler.js';
import { SubscriptionQueries } from '../../application/subscription-queries.js';
import { SubscriptionUpdateHandler } from '../../application/subscription-update.handler.js';

/** Subscriptions and subscription items (API_ROUTES). */
@Controller()
export class SubscriptionsController {
  constructor(
    private readonly creation: SubscriptionCreateHandler,
    private readonly updates: SubscriptionUpdateHandler,
    private readonly cancellation: SubscriptionCancelHandler,
    private readonly items: SubscriptionItemsHandler,
    private readonly queries: SubscriptionQueries,
  ) {}

  @MessagePattern('subscriptions.create')
  create(@Payload() req: ApiRequest) {
    return this.creation.create(req);
  }
  @MessagePattern('subscriptions.retrieve')
  retrieve(@Payload() req: ApiRequest) {
    return this.queries.retrieve(req);
  }
  @MessagePattern('subscriptions.list')
  list(@Payload() req: ApiRequest) {
    return this.queries.list(req);
  }
  @MessagePattern('subscriptions.update')
  update(@Payload() req: ApiRequest) {
    return this.updates.update(req);
  }
  @MessagePattern('subscriptions.cancel')
  cancel(@Payload() req: ApiRequest) {
    return this.cancellation.cancel(req);
  }
  @MessagePattern('subscriptions.migrate')
  migrate(@Payload() req: ApiRequest) {
    return this.updates.migrate(req);
  }

  @MessagePattern('subscription_items.create')
  createItem(@Payload() req: ApiRequest) {
    return this.items.createItem(req);
  }
  @MessagePattern('subscription_items.retrieve')
  retrieveItem(@Payload() req: ApiRequest) {
    return this.queries.retrieveItem(req);
  }
  @MessagePattern('subscription_items.update')
  updateItem(@Payload() req: ApiRequest) {
    return this.items.updateItem(req);
  }
  @MessagePattern('subscription_items.del')
  deleteItem(@Payload() req: ApiRequest) {
    return this.items.deleteItem(req);
  }
  @MessagePattern('subscription_items.list')
  listItems(@Payload() req: ApiRequest) {
    return this.queries.listItems(req);
  }
}
