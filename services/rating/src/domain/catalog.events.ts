import type { PriceObject } from './price.js';

/**
 * Customers, products and prices are small documents: their events carry the object as it is
 * after the change (and, for updates, the attributes it had before).
 */
export interface CustomerAddress {
  city: string | null;
  country: string | null;
  line1: string | null;
  line2: string | null;
  postal_code: string | null;
  state: string | null;
}

export interface CustomerObject {
  id: string;
  object: 'customer';
  address: CustomerAddress | null;
  balance: number;
  created: number;
  currency: string | null;
  default_source: null;
  delinquent: boolean;
  description: string | null;
  discount: null;
  email: string | null;
  invoice_prefix: string;
  invoice_settings: { custom_fields: null; default_payment_method: null; footer: null; rendering_options: null };
  livemode: false;
  metadata: Record<string, string>;
  name: string | null;
  next_invoice_sequence: number;
  phone: string | null;
  preferred_locales: string[];
  shipping: Record<string, unknown> | null;
  tax_exempt: 'none' | 'exempt' | 'reverse';
  test_clock: string | null;
}

export interface ProductObject {
  id: string;
  object: 'product';
  active: boolean;
  created: number;
  default_price: string | null;
  description: string | null;
  images: string[];
  livemode: false;
  marketing_features: { name: string }[];
  metadata: Record<string, string>;
  name: string;
  package_dimensions: null;
  shippable: boolean | null;
  statement_descriptor: string | null;
  tax_code: string | null;
  tax_details: null;
  type: 'service';
  unit_label: string | null;
  updated: number;
  url: string | null;
}

export interface Deletable<T> {
  object: T;
  deleted: boolean;
}

export type CustomerEvent =
  | { type: 'CustomerCreated'; data: { customer: CustomerObject } }
  | { type: 'CustomerUpdated'; data: { customer: CustomerObject; previous_attributes: Record<string, unknown> } }
  | { type: 'CustomerDeleted'; data: { id: string } };

export type ProductEvent =
  | { type: 'ProductCreated'; data: { product: ProductObject } }
  | { type: 'ProductUpdated'; data: { product: ProductObject; previous_attributes: Record<string, unknown> } };

export type PriceEvent =
  | { type: 'PriceCreated'; data: { price: PriceObject } }
  | { type: 'PriceUpdated'; data: { price: PriceObject; previous_attributes: Record<string, unknown> } };

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

/** The attributes of `before` that differ in `after` (Stripe's `previous_attributes`). */
export function previousAttributes<T extends object>(before: T, after: T): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(after) as (keyof T)[]) {
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) out[k as string] = before[k] ?? null;
  }
  return out;
}
