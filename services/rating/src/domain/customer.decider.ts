import { DomainError, assertNever } from '@meterflow/kernel';
import { applyMetadata, type MetadataPatch } from '@meterflow/stripe-api';
import { evolveCustomer, previousAttributes, type CustomerEvent, type CustomerObject, type Deletable } from './catalog.events.js';

export type CustomerState = Deletable<CustomerObject> | null;

export type CustomerCommand =
  | { type: 'CreateCustomer'; customer: CustomerObject }
  | { type: 'UpdateCustomer'; fields: Partial<CustomerObject>; metadata: MetadataPatch }
  | { type: 'DeleteCustomer' };

const missing = (): DomainError => new DomainError('resource_missing', 'No such customer', { status: 404 });

/** A customer: created whole, updated field by field (metadata patched), deleted once. */
export const customerDecider = {
  initialState: (): CustomerState => null,
  decide(command: CustomerCommand, state: CustomerState): CustomerEvent[] {
    switch (command.type) {
      case 'CreateCustomer':
        if (state) throw new DomainError('resource_already_exists', 'Customer already exists.', { param: 'id' });
        return [{ type: 'CustomerCreated', data: { customer: command.customer } }];
      case 'UpdateCustomer': {
        if (!state || state.deleted) throw missing();
        const next: CustomerObject = {
          ...state.object,
          ...command.fields,
          metadata: applyMetadata(state.object.metadata, command.metadata),
        };
        return [{ type: 'CustomerUpdated', data: { customer: next, previous_attributes: previousAttributes(state.object, next) } }];
      }
      case 'DeleteCustomer':
        if (!state || state.deleted) throw missing();
        return [{ type: 'CustomerDeleted', data: { id: state.object.id } }];
      default:
        return assertNever(command);
    }
  },
  evolve: (state: CustomerState, event: CustomerEvent): CustomerState => evolveCustomer(state, event),
};
