import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ApiRequest } from '@meterflow/contracts';
import { CustomersHandler } from '../../application/customers.handler.js';
import { PricesHandler } from '../../application/prices.handler.js';
import { ProductsHandler } from '../../application/products.handler.js';
import { SubscriptionCancelHandler } from '../../application/subscription-cancel.handler.js';

/** Customers, products and prices (API_ROUTES). */
@Controller()
export class CatalogController {
  constructor(
    private readonly customers: CustomersHandler,
    private readonly products: ProductsHandler,
    private readonly prices: PricesHandler,
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

  @MessagePattern('products.create')
  createProduct(@Payload() req: ApiRequest) {
    return this.products.create(req);
  }
  @MessagePattern('products.retrieve')
  retrieveProduct(@Payload() req: ApiRequest) {
    return this.products.retrieve(req);
  }
  @MessagePattern('products.update')
  updateProduct(@Payload() req: ApiRequest) {
    return this.products.update(req);
  }
  @MessagePattern('products.list')
  listProducts(@Payload() req: ApiRequest) {
    return this.products.list(req);
  }

  @MessagePattern('prices.create')
  createPrice(@Payload() req: ApiRequest) {
    return this.prices.create(req);
  }
  @MessagePattern('prices.retrieve')
  retrievePrice(@Payload() req: ApiRequest) {
    return this.prices.retrieve(req);
  }
  @MessagePattern('prices.update')
  updatePrice(@Payload() req: ApiRequest) {
    return this.prices.update(req);
  }
  @MessagePattern('prices.list')
  listPrices(@Payload() req: ApiRequest) {
    return this.prices.list(req);
  }
}
