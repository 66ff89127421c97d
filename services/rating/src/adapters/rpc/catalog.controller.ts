import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ApiRequest } from '@meterflow/contracts';
import { CatalogHandler } from '../../application/catalog.handler.js';
import { CustomersHandler } from '../../application/customers.handler.js';
import { SubscriptionsHandler } from '../../application/subscriptions.handler.js';

/** Customers, products and prices (API_ROUTES). */
@Controller()
export class CatalogController {
  constructor(
    private readonly customers: CustomersHandler,
    private readonly catalog: CatalogHandler,
    private readonly subscriptions: SubscriptionsHandler,
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
  @MessagePattern('customers.del')
  async deleteCustomer(@Payload() req: ApiRequest) {
    const deleted = await this.customers.del(req);
    await this.subscriptions.cancelAllOf(deleted.id, req);
    return deleted;
  }

  @MessagePattern('products.create')
  createProduct(@Payload() req: ApiRequest) {
    return this.catalog.createProduct(req);
  }
  @MessagePattern('products.retrieve')
  retrieveProduct(@Payload() req: ApiRequest) {
    return this.catalog.retrieveProduct(req);
  }
  @MessagePattern('products.update')
  updateProduct(@Payload() req: ApiRequest) {
    return this.catalog.updateProduct(req);
  }
  @MessagePattern('products.list')
  listProducts(@Payload() req: ApiRequest) {
    return this.catalog.listProducts(req);
  }

  @MessagePattern('prices.create')
  createPrice(@Payload() req: ApiRequest) {
    return this.catalog.createPrice(req);
  }
  @MessagePattern('prices.retrieve')
  retrievePrice(@Payload() req: ApiRequest) {
    return this.catalog.retrievePrice(req);
  }
  @MessagePattern('prices.update')
  updatePrice(@Payload() req: ApiRequest) {
    return this.catalog.updatePrice(req);
  }
  @MessagePattern('prices.list')
  listPrices(@Payload() req: ApiRequest) {
    return this.catalog.listPrices(req);
  }
}
