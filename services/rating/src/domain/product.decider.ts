import { DomainError, assertNever } from '@meterflow/kernel';
import { applyMetadata, type MetadataPatch } from '@meterflow/stripe-api';
import { evolveProduct, previousAttributes, type ProductEvent, type ProductObject } from './catalog.events.js';

export type ProductState = ProductObject | null;

export type ProductCommand =
  | { type: 'CreateProduct'; product: ProductObject }
  | { type: 'UpdateProduct'; now: number; fields: Partial<ProductObject>; metadata: MetadataPatch; default_price?: string | null };

/** A product (catalog): created whole (its id may be the client's), updated field by field. */
export const productDecider = {
  initialState: (): ProductState => null,
  decide(command: ProductCommand, state: ProductState): ProductEvent[] {
    switch (command.type) {
      case 'CreateProduct':
        if (state) throw new DomainError('resource_already_exists', `Product already exists.`, { param: 'id' });
        return [{ type: 'ProductCreated', data: { product: command.product } }];
      case 'UpdateProduct': {
        if (!state) throw new DomainError('resource_missing', 'No such product', { status: 404 });
        const next: ProductObject = {
          ...state,
          ...command.fields,
          ...(command.default_price !== undefined ? { default_price: command.default_price } : {}),
          metadata: applyMetadata(state.metadata, command.metadata),
          updated: command.now,
        };
        return [{ type: 'ProductUpdated', data: { product: next, previous_attributes: previousAttributes(state, next) } }];
      }
      default:
        return assertNever(command);
    }
  },
  evolve: (state: ProductState, event: ProductEvent): ProductState => evolveProduct(state, event),
};
