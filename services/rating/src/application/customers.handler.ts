import { Inject, Injectable } from '@nestjs/common';
import type { ApiRequest } from '@meterflow/contracts';
import { firstInvoicePrefix, newId, notFound } from '@meterflow/kernel';
import {
  LIST_PARAM_KEYS,
  applyMetadata,
  enumOf,
  int,
  metadata,
  obj,
  parseListParams,
  rejectUnknown,
  str,
  strArr,
  type Params,
} from '@meterflow/stripe-api';
import type { CommandPipeline } from '@meterflow/event-store';
import type { CustomerObject } from '../domain/catalog.events.js';
import { decodePage, encodePage, parseCustomerSearch } from '../domain/customer-search.js';
import { RatingAggregates } from './aggregates.js';
import { parseRange } from './list-filters.js';
import { CUSTOMER_INDEX, PIPELINE, READ_MODELS, type CustomerIndex, type RatingReadModels } from './ports.js';
import { requestContext } from './stripe-facts.js';
import { TimeService } from './time.service.js';

const EDITABLE = [
  'address',
  'balance',
  'description',
  'email',
  'invoice_prefix',
  'metadata',
  'name',
  'phone',
  'preferred_locales',
  'shipping',
  'tax_exempt',
] as const;

function readEditable(p: Params): Partial<CustomerObject> & { metadataPatch: ReturnType<typeof metadata> } {
  const out: Partial<CustomerObject> & { metadataPatch: ReturnType<typeof metadata> } = { metadataPatch: metadata(p) };
  const s = (k: 'description' | 'email' | 'name' | 'phone') => {
    const v = str(p, k, { maxLength: k === 'email' ? 512 : 5000 });
    if (v !== undefined) out[k] = v;
  };
  s('description');
  s('email');
  s('name');
  s('phone');
  const prefix = str(p, 'invoice_prefix', { maxLength: 12 });
  if (prefix) out.invoice_prefix = prefix;
  const balance = int(p, 'balance');
  if (balance !== undefined) out.balance = balance ?? 0;
  const address = obj(p, 'address');
  if (address !== undefined) {
    if (address) rejectUnknown(address, ['city', 'country', 'line1', 'line2', 'postal_code', 'state']);
    out.address = address
      ? {
          city: str(address, 'city') ?? null,
          country: str(address, 'country') ?? null,
          line1: str(address, 'line1') ?? null,
          line2: str(address, 'line2') ?? null,
          postal_code: str(address, 'postal_code') ?? null,
          state: str(address, 'state') ?? null,
        }
      : null;
  }
  const shipping = obj(p, 'shipping');
  if (shipping !== undefined) out.shipping = shipping;
  const locales = strArr(p, 'preferred_locales');
  if (locales !== undefined) out.preferred_locales = locales ?? [];
  const tax = enumOf(p, 'tax_exempt', ['none', 'exempt', 'reverse'] as const);
  if (tax !== undefined) out.tax_exempt = tax ?? 'none';
  return out;
}

const deletedObject = (id: string) => ({ id, object: 'customer' as const, deleted: true as const });

@Injectable()
export class CustomersHandler {
  constructor(
    @Inject(PIPELINE) private readonly pipeline: CommandPipeline,
    @Inject(READ_MODELS) private readonly models: RatingReadModels,
    @Inject(CUSTOMER_INDEX) private readonly index: CustomerIndex,
    private readonly types: RatingAggregates,
    private readonly time: TimeService,
  ) {}

  async create(req: ApiRequest): Promise<CustomerObject> {
    const p = req.params;
    rejectUnknown(p, [...EDITABLE, 'test_clock']);
    const { metadataPatch, ...fields } = readEditable(p);
    const testClock = str(p, 'test_clock') ?? null;
    if (testClock) {
      const clock = await this.models.testClocks.get(testClock);
      if (!clock || clock.deleted) throw notFound('test_clock', testClock, 'test_clock');
    }
    const created = await this.time.now(testClock);
    const id = newId('customer');
    const customer: CustomerObject = {
      id,
      object: 'customer',
      address: null,
      balance: 0,
      created,
      currency: null,
      default_source: null,
      delinquent: false,
      description: null,
      discount: null,
      email: null,
      // The prefix invoicing numbers this customer's invoices with, unless another customer took it first.
      invoice_prefix: firstInvoicePrefix(id),
      invoice_settings: { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null },
      livemode: false,
      metadata: applyMetadata({}, metadataPatch),
      name: null,
      next_invoice_sequence: 1,
      phone: null,
      preferred_locales: [],
      shipping: null,
      tax_exempt: 'none',
      test_clock: testClock,
      ...fields,
    };
    await this.pipeline.handle(this.types.customer, id, { type: 'CreateCustomer', customer }, requestContext(req));
    return customer;
  }

  async get(id: string): Promise<CustomerObject> {
    const state = await this.models.customers.get(id);
    if (!state || state.deleted) throw notFound('customer', id);
    return state.object;
  }

  async retrieve(req: ApiRequest): Promise<CustomerObject | ReturnType<typeof deletedObject>> {
    const id = req.path.id ?? '';
    const state = await this.models.customers.get(id);
    if (!state) throw notFound('customer', id);
    // Stripe answers a deleted customer with its tombstone.
    if (state.deleted) return deletedObject(id);
    return state.object;
  }

  async update(req: ApiRequest): Promise<CustomerObject> {
    const id = req.path.id ?? '';
    rejectUnknown(req.params, EDITABLE);
    const { metadataPatch, ...fields } = readEditable(req.params);
    const { state } = await this.pipeline.run(async (uow) => {
      const s = await uow.load(this.types.customer, id);
      if (!s || s.deleted) throw notFound('customer', id);
      return uow.executeLoaded(this.types.customer, id, { type: 'UpdateCustomer', fields, metadata: metadataPatch });
    }, requestContext(req));
    return state!.object;
  }

  async del(req: ApiRequest) {
    const id = req.path.id ?? '';
    await this.pipeline.run(async (uow) => {
      const s = await uow.load(this.types.customer, id);
      if (!s || s.deleted) throw notFound('customer', id);
      uow.executeLoaded(this.types.customer, id, { type: 'DeleteCustomer' });
    }, requestContext(req));
    return deletedObject(id);
  }

  idsOnClock(clock: string): Promise<string[]> {
    return this.index.idsOnClock(clock);
  }

  async list(req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, [...LIST_PARAM_KEYS, 'email', 'test_clock', 'created']);
    const email = str(p, 'email');
    const testClock = str(p, 'test_clock');
    const created = parseRange(p, 'created');
    return this.index.list(
      { ...(email ? { email } : {}), ...(testClock ? { test_clock: testClock } : {}), ...(created ? { created } : {}) },
      parseListParams(p),
    );
  }

  /**
   * `GET /v1/customers/search`: Stripe's query language over the read model, newest first, paged
   * by an opaque `page` token. Unlike the list, customers on test clocks are found too
   * (docs/console.md).
   */
  async search(req: ApiRequest) {
    const p = req.params;
    rejectUnknown(p, ['query', 'limit', 'page']);
    const query = parseCustomerSearch(str(p, 'query', { required: true, maxLength: 1000 })!);
    const limit = int(p, 'limit', { min: 1, max: 100 }) ?? 10;
    const page = str(p, 'page', { maxLength: 5000 });
    const { data, hasMore } = await this.index.search(query, limit, page ? decodePage(page) : undefined);
    return {
      object: 'search_result',
      data,
      has_more: hasMore,
      next_page: hasMore ? encodePage(data[data.length - 1]!.id) : null,
      url: '/v1/customers/search',
    };
  }
}
