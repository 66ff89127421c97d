import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ApiRequest } from '@meterflow/contracts';
import { PricesHandler } from '../../application/prices.handler.js';
import { ProductsHandler } from '../../application/products.handler.js';

/** Products and prices (API_ROUTES); customers are customers.controller.ts. */
@Controller()
export class CatalogController {
  constructor(
    private readonly products: ProductsHandler,
    private readonly prices: PricesHandler,
  ) {}

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
