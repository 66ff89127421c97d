import type {
  CustomerAddressDocument,
  CustomerCreated,
  CustomerDeleted,
  CustomerDocument,
  CustomerUpdated,
  EventOf,
  PriceCreated,
  PriceUpdated,
  ProductCreated,
  ProductDocument,
  ProductUpdated,
} from '@meterflow/contracts';
import { sameJson } from '@meterflow/kernel';
import type { PriceObject } from './price.js';

/**
 * Customers, products and prices are small documents: their events carry the object as it is
 * after the change (and, for updates, the attributes it had before). Shapes and events are
 * defined once, as schemas, in libs/contracts/src/events/rating.ts.
 */
export type CustomerAddress = CustomerAddressDocument;
export type CustomerObject = CustomerDocument;
export type ProductObject = ProductDocument;

export interface Deletable<T> {
  object: T;
  deleted: boolean;
}

export type CustomerEvent = EventOf<typeof CustomerCreated> | EventOf<typeof CustomerUpdated> | EventOf<typeof CustomerDeleted>;
export type ProductEvent = EventOf<typeof ProductCreated> | EventOf<typeof ProductUpdated>;
export type PriceEvent = EventOf<typeof PriceCreated> | EventOf<typeof PriceUpdated>;

export function evolveCustomer(s: Deletable<CustomerObject> | null, e: CustomerEvent): Deletable<CustomerObject> | null {
  switch (e.type) {
    case 'CustomerCreated':
      return { object: e.data.customer, deleted: false };
    case 'CustomerUpdated':
      return s ? { ...s, object: e.data.customer } : s;
    case 'CustomerDeleted':
      return s ? { ...s, deleted: true } : s;
    default:
      return s;
  }
}

export function evolveProduct(s: ProductObject | null, e: ProductEvent): ProductObject | null {
  return e.type === 'ProductCreated' || e.type === 'ProductUpdated' ? e.data.product : s;
}

export function evolvePrice(s: PriceObject | null, e: PriceEvent): PriceObject | null {
  return e.type === 'PriceCreated' || e.type === 'PriceUpdated' ? e.data.price : s;
}

/** Whether any attribute differs (what `previousAttributes` would find, stopping at the first difference). */
export function attributesChanged<T extends object>(before: T, after: T): boolean {
  for (const k of Object.keys(after) as (keyof T)[]) {
    const b = before[k];
    const a = after[k];
    if (!sameJson(b, a)) return true;
  }
  return false;
}

/** The attributes of `before` that differ in `after` (Stripe's `previous_attributes`). */
export function previousAttributes<T extends object>(before: T, after: T): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(after) as (keyof T)[]) {
    if (!sameJson(before[k], after[k])) out[k as string] = before[k] ?? null;
  }
  return out;
}
