import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ApiRequest } from '@meterflow/contracts';
import { CustomersHandler } from '../../application/customers.handler.js';
import { SubscriptionCancelHandler } from '../../application/subscription-cancel.handler.js';

/** Customers (API_ROUTES): a deleted customer's subscriptions are canceled with it. */
@Controller()
export class CustomersController {
  constructor(
    private readonly customers: CustomersHandler,
    private readonly subscriptions: SubscriptionCancelHandler,
  ) {}

  @MessagePattern('customers.create')
  createCustomer(@Payload() req: ApiRequest) {
    return this.customers.create(req);
  }
  @MessagePattern('customers.retrieve')
  retrieveCustomer(@Payload() req: ApiRequest) {
    return this.customers.retrieve(req);
  }
  @MessagePattern('customers.update')
  updateCustomer(@Payload() req: ApiRequest) {
    return this.customers.update(req);
  }
  @MessagePattern('customers.list')
  listCustomers(@Payload() req: ApiRequest) {
    return this.customers.list(req);
  }
  @MessagePattern('customers.search')
  searchCustomers(@Payload() req: ApiRequest) {
    return this.customers.search(req);
  }
  @MessagePattern('customers.del')
  async deleteCustomer(@Payload() req: ApiRequest) {
    const deleted = await this.customers.del(req);
    await this.subscriptions.cancelAllOf(deleted.id, req);
    return deleted;
  }
}
