import { DomainError, assertNever } from '@meterflow/kernel';
import { applyMetadata, type MetadataPatch } from '@meterflow/stripe-api';
import { evolvePrice, previousAttributes, type PriceEvent } from './catalog.events.js';
import type { PriceObject } from './price.js';

export type PriceState = PriceObject | null;

export type PriceCommand =
  | { type: 'CreatePrice'; price: PriceObject }
  | {
      type: 'UpdatePrice';
      active?: boolean;
      lookup_key?: string | null;
      nickname?: string | null;
      tax_behavior?: PriceObject['tax_behavior'];
      metadata: MetadataPatch;
    }
  /** Another price takes this one's lookup key (`transfer_lookup_key`). */
  | { type: 'ReleaseLookupKey' };

const missing = (): DomainError => new DomainError('resource_missing', 'No such price', { status: 404 });

function updated(before: PriceObject, next: PriceObject): PriceEvent[] {
  return [{ type: 'PriceUpdated', data: { price: next, previous_attributes: previousAttributes(before, next) } }];
}

/** A price (catalog): created whole (rules in price.ts), then only a few fields change. */
export const priceDecider = {
  initialState: (): PriceState => null,
  decide(command: PriceCommand, state: PriceState): PriceEvent[] {
    switch (command.type) {
      case 'CreatePrice':
        if (state) throw new DomainError('resource_already_exists', 'Price already exists.', { param: 'id' });
        return [{ type: 'PriceCreated', data: { price: command.price } }];
      case 'UpdatePrice': {
        if (!state) throw missing();
        const c = command;
        return updated(state, {
          ...state,
          ...(c.active != null ? { active: c.active } : {}),
          ...(c.lookup_key !== undefined ? { lookup_key: c.lookup_key } : {}),
          ...(c.nickname !== undefined ? { nickname: c.nickname } : {}),
          ...(c.tax_behavior ? { tax_behavior: c.tax_behavior } : {}),
          metadata: applyMetadata(state.metadata, c.metadata),
        });
      }
      case 'ReleaseLookupKey':
        if (!state) throw missing();
        return updated(state, { ...state, lookup_key: null });
      default:
        return assertNever(command);
    }
  },
  evolve: (state: PriceState, event: PriceEvent): PriceState => evolvePrice(state, event),
};
