import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ApiRequest } from '@meterflow/contracts';
import { SubscriptionsHandler } from '../../application/subscriptions.handler.js';

/** Subscriptions and subscription items (API_ROUTES). */
@Controller()
export class SubscriptionsController {
  constructor(private readonly subs: SubscriptionsHandler) {}

  @MessagePattern('subscriptions.create')
  create(@Payload() req: ApiRequest) {
    return this.subs.create(req);
  }
  @MessagePattern('subscriptions.retrieve')
  retrieve(@Payload() req: ApiRequest) {
    return this.subs.retrieve(req);
  }
  @MessagePattern('subscriptions.list')
  list(@Payload() req: ApiRequest) {
    return this.subs.list(req);
  }
  @MessagePattern('subscriptions.update')
  update(@Payload() req: ApiRequest) {
    return this.subs.update(req);
  }
  @MessagePattern('subscriptions.cancel')
  cancel(@Payload() req: ApiRequest) {
    return this.subs.cancel(req);
  }
  @MessagePattern('subscriptions.migrate')
  migrate(@Payload() req: ApiRequest) {
    return this.subs.migrate(req);
  }

  @MessagePattern('subscription_items.create')
  createItem(@Payload() req: ApiRequest) {
    return this.subs.createItem(req);
  }
  @MessagePattern('subscription_items.retrieve')
  retrieveItem(@Payload() req: ApiRequest) {
    return this.subs.retrieveItem(req);
  }
  @MessagePattern('subscription_items.update')
  updateItem(@Payload() req: ApiRequest) {
    return this.subs.updateItem(req);
  }
  @MessagePattern('subscription_items.del')
  deleteItem(@Payload() req: ApiRequest) {
    return this.subs.deleteItem(req);
  }
  @MessagePattern('subscription_items.list')
  listItems(@Payload() req: ApiRequest) {
    return this.subs.listItems(req);
  }
}
