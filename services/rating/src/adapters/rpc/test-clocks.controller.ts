import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ApiRequest } from '@meterflow/contracts';
import { CustomersHandler } from '../../application/customers.handler.js';
import { SubscriptionCancelHandler } from '../../application/subscription-cancel.handler.js';
import { TestClocksHandler } from '../../application/test-clocks.handler.js';

/** `test_helpers.test_clocks` (API_ROUTES). */
@Controller()
export class TestClocksController {
  constructor(
    private readonly clocks: TestClocksHandler,
    private readonly customers: CustomersHandler,
    private readonly subscriptions: SubscriptionCancelHandler,
  ) {}

  @MessagePattern('test_clocks.create')
  create(@Payload() req: ApiRequest) {
    return this.clocks.create(req);
  }
  @MessagePattern('test_clocks.retrieve')
  retrieve(@Payload() req: ApiRequest) {
    return this.clocks.retrieve(req);
  }
  @MessagePattern('test_clocks.list')
  list(@Payload() req: ApiRequest) {
    return this.clocks.list(req);
  }
  /** Like Stripe, deleting a clock deletes its customers (and so cancels their subscriptions). */
  @MessagePattern('test_clocks.del')
  async del(@Payload() req: ApiRequest) {
    const deleted = await this.clocks.del(req);
    for (const customer of await this.customers.idsOnClock(deleted.id)) {
      await this.subscriptions.cancelAllOf(customer, req);
      await this.customers.del({ ...req, params: {}, path: { id: customer } });
    }
    return deleted;
  }
  @MessagePattern('test_clocks.advance')
  advance(@Payload() req: ApiRequest) {
    return this.clocks.advance(req);
  }
}
